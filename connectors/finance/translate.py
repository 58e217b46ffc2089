"""Pure translation of a finance message into a validated inbound event (no broker, no database)."""

from connectors.events import InboundEvent, Rejected, translate as _translate
from connectors.spec import ConnectorSpec

TOPIC = "finance.payroll.v1"
SOURCE = "/gov/finance"  # the department that owns the topic: the only source accepted on it
TYPES = frozenset({"gov.finance.payroll.paid", "gov.finance.payroll.stopped"})


def translate(raw: bytes | None) -> InboundEvent | Rejected:
    return _translate(raw, TYPES, SOURCE)


CONNECTOR = ConnectorSpec(name="finance", topic=TOPIC, source=SOURCE, types=TYPES, translate=translate)
