"""Pure translation of a police message into a validated inbound event (no broker, no database)."""

from connectors.events import InboundEvent, Rejected, translate as _translate
from connectors.spec import ConnectorSpec

TOPIC = "police.identity.v1"
SOURCE = "/gov/police"  # the department that owns the topic: the only source accepted on it
TYPES = frozenset({"gov.police.identity.updated"})


def translate(raw: bytes | None) -> InboundEvent | Rejected:
    return _translate(raw, TYPES, SOURCE)


CONNECTOR = ConnectorSpec(name="police", topic=TOPIC, source=SOURCE, types=TYPES, translate=translate)
