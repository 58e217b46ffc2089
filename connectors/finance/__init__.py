"""The finance connector — 财政 finance: payroll lines paid and stopped per unit and period."""

from connectors.finance.rows import partner_row
from connectors.finance.translate import SOURCE, TOPIC, TYPES, translate
from connectors.spec import ConnectorSpec

CONNECTOR = ConnectorSpec(name="finance", topic=TOPIC, source=SOURCE, types=TYPES, translate=translate,
                          partner_row=partner_row)

__all__ = ["CONNECTOR"]
