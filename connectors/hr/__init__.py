"""The hr connector — 人社 HR: employment status, employer unit and rank."""

from connectors.hr.translate import CONNECTOR

__all__ = ["CONNECTOR"]
