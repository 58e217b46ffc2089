"""Pure translation of a police message into a validated inbound event (no broker, no database)."""

from hub.contract.inbound import InboundEvent, Rejected
from hub.contract.inbound import translate as _translate
from hub.contract.topics import POLICE_SOURCE, POLICE_TOPIC
from hub.contract.types import POLICE_TYPES

TOPIC = POLICE_TOPIC
SOURCE = POLICE_SOURCE  # the department that owns the topic: the only source accepted on it
TYPES = POLICE_TYPES


def translate(raw: bytes | None) -> InboundEvent | Rejected:
    return _translate(raw, TYPES, SOURCE)

