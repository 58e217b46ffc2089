"""The insurance connector's mapping: a contribution event is the person's record of the insurance view
(partner_insurance). Which record the view keeps — the newer period's — is the view's rule (partner_views)."""

from hub.contract.inbound import InboundEvent
from hub.service_layer.partner_views import INSURANCE, PartnerRow


def partner_row(event: InboundEvent) -> PartnerRow:
    d = event.data
    return PartnerRow(INSURANCE, dict(id_number=d.id_number, name=d.name, employer_code=d.employer_code,
                                      period=d.period, base_amount=d.base_amount, status=d.status))
