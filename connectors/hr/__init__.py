"""The hr connector — 人社 HR: employment status, employer unit and rank."""

from connectors.hr.rows import partner_row
from connectors.hr.translate import SOURCE, TOPIC, TYPES, translate
from connectors.spec import ConnectorSpec

CONNECTOR = ConnectorSpec(name="hr", topic=TOPIC, source=SOURCE, types=TYPES, translate=translate,
                          partner_row=partner_row)

__all__ = ["CONNECTOR"]
