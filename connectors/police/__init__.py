"""The police connector — 公安 police: identity changes (name, gender, birth date, alive/deceased/cancelled, photo hash)."""

from connectors.police.translate import CONNECTOR

__all__ = ["CONNECTOR"]
