"""Pure translation of a police message into a validated inbound event (no broker, no database)."""

from connectors.events import InboundEvent, Rejected, translate as _translate
from connectors.spec import ConnectorSpec

TOPIC = "police.identity.v1"
TYPES = frozenset({"gov.police.identity.updated"})


def translate(raw: bytes | None) -> InboundEvent | Rejected:
    return _translate(raw, TYPES)


CONNECTOR = ConnectorSpec(name="police", topic=TOPIC, types=TYPES, translate=translate)
