"""The finance connector — 财政 finance: payroll lines paid and stopped per unit and period."""

from connectors.finance.translate import CONNECTOR

__all__ = ["CONNECTOR"]
