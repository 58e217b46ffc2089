"""Pure translation of a hr message into a validated inbound event (no broker, no database)."""

from hub.contract.inbound import InboundEvent, Rejected
from hub.contract.inbound import translate as _translate
from hub.contract.topics import HR_SOURCE, HR_TOPIC
from hub.contract.types import HR_TYPES

TOPIC = HR_TOPIC
SOURCE = HR_SOURCE  # the department that owns the topic: the only source accepted on it
TYPES = HR_TYPES


def translate(raw: bytes | None) -> InboundEvent | Rejected:
    return _translate(raw, TYPES, SOURCE)

