"""Pure translation of a hr message into a validated inbound event (no broker, no database)."""

from connectors.events import InboundEvent, Rejected, translate as _translate
from connectors.spec import ConnectorSpec

TOPIC = "hr.employment.v1"
SOURCE = "/gov/hr"  # the department that owns the topic: the only source accepted on it
TYPES = frozenset({"gov.hr.employment.updated"})


def translate(raw: bytes | None) -> InboundEvent | Rejected:
    return _translate(raw, TYPES, SOURCE)


CONNECTOR = ConnectorSpec(name="hr", topic=TOPIC, source=SOURCE, types=TYPES, translate=translate)
