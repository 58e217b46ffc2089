"""What the shared runner needs to know about one department's connector."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Callable

from hub.contract.inbound import InboundEvent, Rejected
from hub.service_layer.partner_views import PartnerRow


@dataclass(frozen=True)
class ConnectorSpec:
    name: str  # police | hr | finance | insurance
    topic: str  # contract topic name, without the configured prefix
    source: str  # the department's CloudEvents source (/gov/<name>): the only one accepted on its topic
    types: frozenset[str]
    translate: Callable[[bytes | None], InboundEvent | Rejected]  # the message's bytes → a validated event or a reason
    partner_row: Callable[[InboundEvent], PartnerRow]  # a validated event → its row of the department's view


def all_connectors() -> dict[str, ConnectorSpec]:
    from connectors.finance import CONNECTOR as finance
    from connectors.hr import CONNECTOR as hr
    from connectors.insurance import CONNECTOR as insurance
    from connectors.police import CONNECTOR as police

    return {c.name: c for c in (police, hr, finance, insurance)}


@cache
def _by_type() -> dict[str, ConnectorSpec]:
    return {t: c for c in all_connectors().values() for t in c.types}


def partner_row(event: InboundEvent) -> PartnerRow:
    """The row of any department's event, by its connector's mapping (for callers that mix departments: the demo,
    tests; a connector's batch uses its own ``ConnectorSpec.partner_row``)."""
    return _by_type()[event.type].partner_row(event)
