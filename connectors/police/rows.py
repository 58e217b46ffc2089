"""The police connector's mapping: an identity event is the person's row of the police view (partner_identity).

What else a police row may change — the registry's verified name, identity status and photo hash, never its own
name, gender or birth date — is the service layer's rule (``partner_events.verify_identities``)."""

from hub.contract.inbound import InboundEvent
from hub.service_layer.partner_views import IDENTITY, PartnerRow


def partner_row(event: InboundEvent) -> PartnerRow:
    d = event.data
    return PartnerRow(IDENTITY, dict(id_number=d.id_number, name=d.name, gender=d.gender, birth_date=d.birth_date,
                                     status=d.status, photo_sha256=d.photo_sha256))
