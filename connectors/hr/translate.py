"""Pure translation of a hr message into a validated inbound event (no broker, no database)."""

from connectors.events import InboundEvent, Rejected, translate as _translate
from connectors.spec import ConnectorSpec

TOPIC = "hr.employment.v1"
TYPES = frozenset({"gov.hr.employment.updated"})


def translate(raw: bytes | None) -> InboundEvent | Rejected:
    return _translate(raw, TYPES)


CONNECTOR = ConnectorSpec(name="hr", topic=TOPIC, types=TYPES, translate=translate)
