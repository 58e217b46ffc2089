"""Pure translation of a finance message into a validated inbound event (no broker, no database)."""

from hub.contract.inbound import InboundEvent, Rejected
from hub.contract.inbound import translate as _translate
from hub.contract.topics import FINANCE_SOURCE, FINANCE_TOPIC
from hub.contract.types import FINANCE_TYPES

TOPIC = FINANCE_TOPIC
SOURCE = FINANCE_SOURCE  # the department that owns the topic: the only source accepted on it
TYPES = FINANCE_TYPES


def translate(raw: bytes | None) -> InboundEvent | Rejected:
    return _translate(raw, TYPES, SOURCE)

