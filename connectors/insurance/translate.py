"""Pure translation of a insurance message into a validated inbound event (no broker, no database)."""

from connectors.events import InboundEvent, Rejected, translate as _translate
from connectors.spec import ConnectorSpec

TOPIC = "insurance.contribution.v1"
SOURCE = "/gov/insurance"  # the department that owns the topic: the only source accepted on it
TYPES = frozenset({"gov.insurance.contribution.recorded"})


def translate(raw: bytes | None) -> InboundEvent | Rejected:
    return _translate(raw, TYPES, SOURCE)


CONNECTOR = ConnectorSpec(name="insurance", topic=TOPIC, source=SOURCE, types=TYPES, translate=translate)
