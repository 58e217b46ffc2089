"""Per-request GraphQL context: the caller, the database, DataLoaders and the stated purpose."""

from __future__ import annotations

import copy
from itertools import repeat

from strawberry.fastapi import BaseContext

from hub.adapters.database import Database
from hub.service_layer.tokens import Principal


class Forbidden(Exception):
    """A refused field: surfaces as a GraphQL error with extensions.code = FORBIDDEN."""

    def __init__(self, message: str = "forbidden"):
        super().__init__(message)
        self.extensions = {"code": "FORBIDDEN"}


class TokenRevoked(Exception):
    """The token of an open subscription was revoked: the subscription ends with extensions.code = UNAUTHENTICATED."""

    def __init__(self, message: str = "the token was revoked: the subscription has ended"):
        super().__init__(message)
        self.extensions = {"code": "UNAUTHENTICATED"}


class HubContext(BaseContext):
    def __init__(self, db: Database, principal: Principal | None, purpose: str | None = None, settings=None,
                 form_key: bytes | None = None, calendar=None):
        super().__init__()
        self.form_key = form_key  # the approval forms' key (hub.adapters.form_key)
        self.calendar = calendar  # the working-day calendar (hub.domain.calendar.WorkingCalendar)
        from hub.api.loaders import Loaders

        self.db = db
        self.principal = principal
        self.purpose = purpose
        self.settings = settings
        self.loaders = Loaders(db)
        self.pending_reads: list[tuple[str, str | None, str, str | None, str | None]] = []
        # graphql-transport-ws: the bearer token and how to check it again (an open subscription ends on revocation)
        self.token: str | None = None
        self.reauthenticate = None
        self._checked_at = 0.0
        self.selection_cache: dict = {}  # hub.api.types._selection
        self._refusal_without_purpose_arg: str | None | bool = False  # False: not computed yet
        # graphql-transport-ws: strawberry makes one context per connection and runs its operations at the same
        # time; each then gets its own (``for_operation``, made by hub.api.build.hub_request).
        self.shared_by_operations = False

    def for_operation(self) -> "HubContext":
        """This connection's context for one of its operations: the same caller, token, purpose, settings and
        transport objects; its own DataLoaders (their read session), person reads still to be logged, selection
        cache and purpose refusal. Shared, one operation's end closed the session another was reading on, a page's
        threaded log write cleared the reads other operations noted meanwhile (never logged), and a subscription's
        ``purpose`` argument became the purpose of the connection's later operations."""
        from hub.api.loaders import Loaders

        own = copy.copy(self)
        own.loaders = Loaders(self.db)
        own.pending_reads = []
        own.selection_cache = {}
        own._refusal_without_purpose_arg = False
        own.shared_by_operations = False
        return own

    def person_read_refusal(self, purpose: str | None) -> str | None:
        """Why this caller may not read a person (role or missing purpose), or None. ``purpose`` is a `purpose`
        argument; the X-Purpose header is the fallback. Without an argument the answer is the same for every read
        of the request, so it is computed once."""
        if purpose is None and self._refusal_without_purpose_arg is not False:
            return self._refusal_without_purpose_arg
        from hub.api import access

        role = self.principal.role
        stated = purpose or self.purpose
        refusal = None
        if not access.allowed("Query.person", role):
            refusal = f"role {role.value} may not read persons"
        elif role in access.PURPOSE_REQUIRED and not (stated and stated.strip()):
            refusal = "a purpose is required to read a person: send the X-Purpose header (case or document reference)"
        if purpose is None:
            self._refusal_without_purpose_arg = refusal
        return refusal

    def record_read(self, id_number: str, *, operation: str | None, field: str, purpose: str | None,
                    outcome: str | None = None) -> None:
        """Note a read of a person's data (``outcome`` None) or a lookup that found nobody the caller may read
        (``outcome`` NOT_FOUND or OUT_OF_SCOPE); written to the access log once the operation finishes."""
        self.pending_reads.append((id_number, operation, field, purpose, outcome))

    def record_reads(self, id_numbers, *, operation: str | None, field: str, purpose: str | None,
                     outcome: str | None = None) -> None:
        """``record_read`` for each of ``id_numbers`` in order, with the same operation, field, purpose and
        outcome: the same entries in ``pending_reads``, built in one C-level pass (a units page notes ~1,900
        reads; a call per read cost ~0.25 ms of it)."""
        self.pending_reads.extend(zip(id_numbers, repeat(operation), repeat(field), repeat(purpose), repeat(outcome)))

    # How often an open subscription looks its token up again at most (the token cache, HUB_TOKEN_CACHE_S, decides
    # how fresh the answer is; with the cache off this keeps it to one database lookup a second per subscription).
    RECHECK_EVERY_S = 1.0

    def still_authorized(self) -> bool:
        """For an open subscription: is its token still valid (not revoked)? True for HTTP requests."""
        if self.reauthenticate is None:
            return True
        import time

        now = time.monotonic()
        if now - self._checked_at < self.RECHECK_EVERY_S:
            return True
        self._checked_at = now
        return self.reauthenticate(self.token) is not None

    # From this many person reads on, the access-log write runs in a thread (the event loop serves other requests
    # while PostgreSQL inserts thousands of rows); a lookup's one row is written inline (a thread costs more).
    THREADED_FLUSH_FROM = 200

    async def aclose(self) -> None:
        """``close`` for the end of an operation on the event loop (strawberry's on_execute hook).

        Threaded, the write goes on if the operation is cancelled meanwhile (a graphql-transport-ws client's
        ``complete``, its socket closing): the cancellation waits for it. Passed on at once, the operation's end
        (``hub_request``'s on_operation) closed the read session under the write — its seal rolled back, its rows
        then committed on a new connection: the chain named a seal that does not exist and every later write
        collided with those rows' numbers (no person could be read any more)."""
        if self.db.is_postgres and len(self.pending_reads) >= self.THREADED_FLUSH_FROM:
            import asyncio

            closing = asyncio.ensure_future(asyncio.to_thread(self.close))  # execution is over: nothing else uses
            try:                                                            # this request's session
                await asyncio.shield(closing)
            except asyncio.CancelledError:
                while not closing.done():
                    try:
                        await asyncio.wait((closing,))
                    except asyncio.CancelledError:
                        continue
                if not closing.cancelled():
                    closing.exception()  # retrieved (its reads were of an answer never sent); the cancellation goes on
                raise
        else:
            self.close()

    async def end_streamed_result(self) -> None:
        """A streamed result (a subscription's event, a graphql-transport-ws answer) is about to go out: ``aclose``
        — the reads its execution noted are written, the read session goes back — and DataLoaders of its own for
        the next one (a subscription's next event reads afresh: a unit renamed meanwhile has its new name)."""
        from hub.api.loaders import Loaders

        try:
            await self.aclose()
        finally:
            self.loaders = Loaders(self.db)

    def close(self) -> None:
        """End of the operation: write the access log, give the read connection back."""
        try:
            self.flush_reads()
        finally:
            self.loaders.close()

    def flush_reads(self) -> None:
        from hub.api.access import write_reads

        if self.pending_reads and self.principal is not None:
            # PostgreSQL: on the request's read session (the same engine), committed there; SQLite: the writer.
            session = self.loaders.open_session() if self.db.is_postgres else None
            write_reads(self.db, principal=self.principal, reads=self.pending_reads, session=session)
        self.pending_reads = []

    @staticmethod
    def operation_name(info) -> str | None:
        op = info.operation
        return op.name.value if op is not None and op.name is not None else info.path.key
