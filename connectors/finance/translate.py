"""Pure translation of a finance message into a validated inbound event (no broker, no database)."""

from connectors.events import InboundEvent, Rejected, translate as _translate
from connectors.spec import ConnectorSpec

TOPIC = "finance.payroll.v1"
TYPES = frozenset({"gov.finance.payroll.paid", "gov.finance.payroll.stopped"})


def translate(raw: bytes | None) -> InboundEvent | Rejected:
    return _translate(raw, TYPES)


CONNECTOR = ConnectorSpec(name="finance", topic=TOPIC, types=TYPES, translate=translate)
