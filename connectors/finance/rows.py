"""The finance connector's mapping: a payroll event is one line of the payroll view (partner_payroll), per person,
paying unit and period. A stop marks the line unpaid and keeps the name and amount of the paid line it stops."""

from hub.contract.inbound import InboundEvent
from hub.contract.types import PAYROLL_PAID
from hub.service_layer.partner_views import PAYROLL, PartnerRow


def partner_row(event: InboundEvent) -> PartnerRow:
    d = event.data
    if event.type == PAYROLL_PAID:
        return PartnerRow(PAYROLL, dict(id_number=d.id_number, unit_code=d.unit_code, period=d.period, name=d.name,
                                        gross_amount=d.gross_amount, paid=True))
    return PartnerRow(PAYROLL, dict(id_number=d.id_number, unit_code=d.unit_code, period=d.period, name=None,
                                    gross_amount=None, paid=False), keep=("name", "gross_amount"))
