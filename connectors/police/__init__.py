"""The police connector — 公安 police: identity changes (name, gender, birth date, alive/deceased/cancelled, photo hash)."""

from connectors.police.rows import partner_row
from connectors.police.translate import SOURCE, TOPIC, TYPES, translate
from connectors.spec import ConnectorSpec

CONNECTOR = ConnectorSpec(name="police", topic=TOPIC, source=SOURCE, types=TYPES, translate=translate,
                          partner_row=partner_row)

__all__ = ["CONNECTOR"]
