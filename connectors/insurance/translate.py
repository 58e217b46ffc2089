"""Pure translation of an insurance message into a validated inbound event (no broker, no database)."""

from hub.contract.inbound import InboundEvent, Rejected
from hub.contract.inbound import translate as _translate
from hub.contract.topics import INSURANCE_SOURCE, INSURANCE_TOPIC
from hub.contract.types import INSURANCE_TYPES

TOPIC = INSURANCE_TOPIC
SOURCE = INSURANCE_SOURCE  # the department that owns the topic: the only source accepted on it
TYPES = INSURANCE_TYPES


def translate(raw: bytes | None) -> InboundEvent | Rejected:
    return _translate(raw, TYPES, SOURCE)

