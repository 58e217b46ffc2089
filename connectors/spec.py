"""What the shared runner needs to know about one department's connector."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from hub.contract.inbound import InboundEvent, Rejected


@dataclass(frozen=True)
class ConnectorSpec:
    name: str  # police | hr | finance | insurance
    topic: str  # contract topic name, without the configured prefix
    source: str  # the department's CloudEvents source (/gov/<name>): the only one accepted on its topic
    types: frozenset[str]
    translate: Callable[[bytes | None], InboundEvent | Rejected]


def all_connectors() -> dict[str, ConnectorSpec]:
    from connectors.finance import CONNECTOR as finance
    from connectors.hr import CONNECTOR as hr
    from connectors.insurance import CONNECTOR as insurance
    from connectors.police import CONNECTOR as police

    return {c.name: c for c in (police, hr, finance, insurance)}
