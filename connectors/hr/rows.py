"""The HR connector's mapping: an employment event is the person's row of the HR view (partner_employment)."""

from hub.contract.inbound import InboundEvent
from hub.service_layer.partner_views import EMPLOYMENT, PartnerRow


def partner_row(event: InboundEvent) -> PartnerRow:
    d = event.data
    return PartnerRow(EMPLOYMENT, dict(id_number=d.id_number, name=d.name, unit_code=d.unit_code, status=d.status,
                                       effective_date=d.effective_date, rank=d.rank))
