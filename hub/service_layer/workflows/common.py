"""What every workflow step needs: the unit it acts on, checked against the caller, and the freeze."""

from __future__ import annotations

from hub.adapters.orm import UnitFreezeRow, UnitRow
from hub.domain.identifiers import parse_unit_code
from hub.domain.registry import UnitAbolished, UnitNotFound
from hub.domain.vocabulary import UnitStatus
from hub.domain.workflows import Caller, UnitFrozen, ensure_may_act_for_unit
from hub.service_layer.unit_of_work import UnitOfWork


def unit_for(uow: UnitOfWork, caller: Caller, unit_code: str, *, unit_may: bool, active: bool = True) -> UnitRow:
    """The unit, after checking that the caller may act for it (NotAllowed) and, with ``active``, that it exists and
    is not abolished."""
    code = parse_unit_code(unit_code)
    row = uow.session.get(UnitRow, code)
    if row is None:
        raise UnitNotFound(f"unit {code} is not in the registry")
    ensure_may_act_for_unit(caller, row.code, row.region_code, unit_may=unit_may)
    if active and row.status != UnitStatus.ACTIVE.value:
        raise UnitAbolished(f"unit {row.code} is abolished")
    return row


def ensure_not_frozen(uow: UnitOfWork, unit_code: str) -> None:
    """Refuse (UnitFrozen) while the office has frozen the unit."""
    f = uow.session.get(UnitFreezeRow, unit_code)
    if f is not None:
        raise UnitFrozen(f"unit {unit_code} is frozen by the office since {f.frozen_at:%Y-%m-%d}: {f.reason}")
