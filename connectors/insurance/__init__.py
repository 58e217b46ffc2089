"""The insurance connector — 社保 social insurance: contributions per employer and period."""

from connectors.insurance.rows import partner_row
from connectors.insurance.translate import SOURCE, TOPIC, TYPES, translate
from connectors.spec import ConnectorSpec

CONNECTOR = ConnectorSpec(name="insurance", topic=TOPIC, source=SOURCE, types=TYPES, translate=translate,
                          partner_row=partner_row)

__all__ = ["CONNECTOR"]
