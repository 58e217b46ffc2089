"""Errors at the API's edge: one classification of every GraphQL error, one place that logs and one that shapes it.

Three classes (``classify``):

* ``expected`` — refusals and bad input: parse and validation errors, an unknown ``operationName``, FORBIDDEN and the other errors that carry an
  ``extensions.code``, ValueError (bad arguments, invalid identifiers or cursors). Shown to the client in every
  mode (a ValueError as ``extensions.code = BAD_USER_INPUT``); logged at INFO, one line, no traceback, ID numbers
  masked.
* ``database`` — anything raised by SQLAlchemy or a database driver (anywhere in the exception's chain). Its text
  holds SQL and parameters: the client gets "Unexpected error." (INTERNAL_SERVER_ERROR) in development mode too;
  logged at ERROR with the traceback, ID numbers masked.
* ``unexpected`` — everything else: masked in production, its message kept in development; logged like
  ``database``.

Input that the database cannot store (a NUL character, an unpaired surrogate) is refused before any resolver runs
(``refuse_unstorable_variables``, ``NoUnstorableLiterals``) as BAD_USER_INPUT, so it never becomes a database error.
"""

from __future__ import annotations

import logging
import traceback

from graphql import GraphQLError, ValidationRule
from strawberry.extensions import MaskErrors

from hub.adapters.logs import redact_id_numbers

BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL_SERVER_ERROR"
UNEXPECTED = "Unexpected error."
log = logging.getLogger("hub.api")


def unstorable(value: str) -> str | None:
    """Why a string cannot be stored as text (PostgreSQL refuses NUL; UTF-8 refuses lone surrogates), or None."""
    if "\x00" in value:
        return "must not contain NUL (U+0000) characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (no unpaired surrogates)"
    return None


def clean_text(value: str, what: str) -> str:
    """``value`` if it can be stored as text; a ValueError naming ``what`` otherwise."""
    why = unstorable(value)
    if why:
        raise ValueError(f"{what} {why}")
    return value


def _bad_string(obj) -> str | None:
    """Why a string anywhere inside ``obj`` (keys too) cannot be stored, or None; iterative, so a value nested as
    deep as JSON goes is no RecursionError."""
    pending = [obj]
    while pending:
        o = pending.pop()
        if isinstance(o, str):
            why = unstorable(o)
            if why:
                return why
        elif isinstance(o, dict):
            pending.extend(o.keys())
            pending.extend(o.values())
        elif isinstance(o, (list, tuple)):
            pending.extend(o)
    return None


def refuse_unstorable_variables(variables: dict | None) -> None:
    """Refuse variables holding a string the database cannot store, before execution (queries, mutations and
    subscriptions alike; hub.api.build.HubRequest runs it as the operation is about to execute)."""
    why = _bad_string(variables or {})
    if why:
        raise GraphQLError(f"a variable's text {why}", extensions={"code": BAD_USER_INPUT})


class NoUnstorableLiterals(ValidationRule):
    """The literal strings of a document: the same refusal as ``refuse_unstorable_variables`` (validation is cached per document)."""

    def enter_string_value(self, node, *_):
        why = unstorable(node.value)
        if why:
            self.report_error(GraphQLError(f"a string argument {why}", node, extensions={"code": BAD_USER_INPUT}))


def _chain(exc: BaseException | None):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _is_database_error(exc: BaseException) -> bool:
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    try:
        import psycopg

        drivers: tuple = (sqlite3.Error, psycopg.Error)
    except ImportError:  # pragma: no cover - psycopg is a dependency
        drivers = (sqlite3.Error,)
    return any(isinstance(e, (SQLAlchemyError, *drivers)) for e in _chain(exc))


def classify(error: GraphQLError) -> str:
    """``expected``, ``database`` or ``unexpected`` (see the module docstring)."""
    orig = error.original_error
    if orig is None:
        return "expected"  # parse and validation errors, and GraphQLErrors raised as such
    if _is_database_error(orig):
        return "database"
    if isinstance(orig, ValueError) or getattr(orig, "extensions", None) is not None:
        return "expected"
    if isinstance(orig, _operation_choice_errors()):  # an operationName the document lacks: the client's mistake
        return "expected"
    return "unexpected"


def _operation_choice_errors() -> tuple:
    """strawberry's errors for an operation it cannot pick or run (an unknown ``operationName``, a type the transport
    does not allow): HTTP answers them 400 before any error is shaped; a graphql-transport-ws operation gets them as
    errors — classed unexpected they were INTERNAL_SERVER_ERROR, logged at ERROR, and masked in production to
    "Unexpected error." (strawberry then no longer recognised them and did not close the socket 4400 with the
    reason)."""
    from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

    return CannotGetOperationTypeError, InvalidOperationTypeError


def log_errors(errors: list[GraphQLError]) -> None:
    """Log an operation's errors: expected ones at INFO without a traceback, the rest at ERROR with one; ID numbers
    masked in both (``Schema.process_errors``)."""
    for error in errors:
        where = ".".join(str(p) for p in error.path) if error.path else "-"
        if classify(error) == "expected":
            code = (error.extensions or {}).get("code") or (
                BAD_USER_INPUT if error.original_error is not None else "GRAPHQL_VALIDATION_FAILED")
            log.info("GraphQL request refused (%s, at %s): %s", code, where, redact_id_numbers(error.message))
            continue
        orig = error.original_error
        trace = "".join(traceback.format_exception(type(orig), orig, orig.__traceback__)) if orig else ""
        log.error("GraphQL operation failed (at %s): %s\n%s", where, redact_id_numbers(error.message),
                  redact_id_numbers(trace))


class HubErrors(MaskErrors):
    """What the client sees of each error (``classify``), in development and production."""

    def __init__(self, production: bool = False):
        super().__init__(error_message=UNEXPECTED)
        self.production = production

    def _shape(self, error: GraphQLError) -> GraphQLError:
        kind = classify(error)
        if kind == "expected":
            orig = error.original_error
            if orig is None or getattr(orig, "extensions", None) is not None or (error.extensions or {}).get("code"):
                return error
            return GraphQLError(error.message, error.nodes, error.source, error.positions, error.path, orig,
                                extensions={"code": BAD_USER_INPUT})
        if kind == "database" or self.production:
            return GraphQLError(UNEXPECTED, error.nodes, error.source, error.positions, error.path, None,
                                extensions={"code": INTERNAL})
        return GraphQLError(error.message, error.nodes, error.source, error.positions, error.path, error.original_error,
                            extensions={"code": INTERNAL})

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._shape(e) for e in errors]
