"""Text longer than its column takes is bad input, on every database: PostgreSQL refuses it with a database error
(shown as "Unexpected error." and logged at ERROR), SQLite stores it silently. ``refuse_overlong`` makes a session
refuse it first, as a ValueError naming the field, which the API answers as ``InvalidInput`` (BAD_USER_INPUT)."""

from __future__ import annotations

from sqlalchemy import String, event, inspect
from sqlalchemy.orm import Session

_LIMITS: dict[type, list[tuple[str, str, int]]] = {}


def _limits(cls) -> list[tuple[str, str, int]]:
    """(attribute, column, length) of every length-bound text column of a mapped class."""
    found = _LIMITS.get(cls)
    if found is None:
        found = _LIMITS[cls] = [
            (attr.key, col.name, col.type.length) for attr in inspect(cls).column_attrs for col in attr.columns
            if isinstance(col.type, String) and col.type.length]
    return found


def _refuse(column: str, length: int, value) -> None:
    if isinstance(value, str) and len(value) > length:
        raise ValueError(f"{column} must be at most {length} characters ({len(value)} given)")


def check_values(table, values: dict) -> None:
    """The same refusal for a row written with a Core insert (``values`` by column name)."""
    for col in table.columns:
        if isinstance(col.type, String) and col.type.length and col.name in values:
            _refuse(col.name, col.type.length, values[col.name])


def _check(session: Session, flush_context, instances) -> None:
    for obj in list(session.new) + list(session.dirty):
        for key, column, length in _limits(type(obj)):
            _refuse(column, length, getattr(obj, key, None))


def is_too_long(exc: BaseException) -> bool:
    """Whether a database error is PostgreSQL's "value too long" (SQLSTATE 22001): the backstop for a write this
    module's checks did not see."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if getattr(exc, "sqlstate", None) == "22001":
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False


def refuse_overlong(session: Session) -> Session:
    """Make ``session`` refuse, before each flush, a new or changed row holding text longer than its column."""
    if not event.contains(session, "before_flush", _check):
        event.listen(session, "before_flush", _check)
    return session
