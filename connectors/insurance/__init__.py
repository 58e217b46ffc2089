"""The insurance connector — 社保 social insurance: contributions per employer and period."""

from connectors.insurance.translate import CONNECTOR

__all__ = ["CONNECTOR"]
