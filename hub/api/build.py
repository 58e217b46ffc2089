"""Build the strawberry schema with the configured limits (one place)."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from functools import cache, lru_cache

from strawberry.extensions import AddValidationRules, ParserCache, SchemaExtension, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from hub.api.context import TokenRevoked
from hub.api.errors import HubErrors, InputGuard, NoUnstorableLiterals, log_errors
from hub.api.execution import HubExecutionContext
from hub.api.limits import cost_rule, variable_cost_limit
from hub.api.schema import Mutation, Query, Subscription


class FlushAccessLog(SchemaExtension):
    """Write the operation's person reads to the access log in one statement when it finishes.

    If the write fails the answer is withheld (``data`` null) and the failure becomes one of the result's errors,
    logged and shaped like any other (``HubErrors``: a database error is "Unexpected error." to the client). Raised
    from here it would bypass both: strawberry sent its text — the statement and its parameters, the batch's ID
    numbers unmasked — to the client, in production too.

    An operation of a graphql-transport-ws connection runs on a context of its own (``HubContext.for_operation``),
    closed when the operation ends — for a subscription, when its stream ends. Each result a stream sends (a
    subscription's event) is written and closed before it goes out (``on_stream_result``): a subscription's resolver
    writes the reads of the data it yields, but the event's selection runs after that (``mismatchEvents { unit {
    postings … person { name } } }``) — those reads went out unlogged (written with the next event, after it, or
    never), and each subscription held a read connection from its first event to its end (a few subscriptions on
    one socket emptied the pool).

    A graphql-transport-ws operation is refused (``UNAUTHENTICATED``) once the connection's token is revoked, as an
    HTTP request is (401): the token was checked only in ``connection_init``, so an open socket went on reading and
    writing with a revoked token (``HubContext.still_authorized``; within ``HUB_TOKEN_CACHE_S``)."""

    def on_operation(self):
        ec = self.execution_context
        own = ec.context.for_operation() if getattr(ec.context, "shared_by_operations", False) else None
        if own is not None:
            ec.context = own
        try:
            yield
        finally:
            if own is not None:
                # on_execute wrote a query's reads; a subscription writes its reads before each event goes out.
                # Left here: reads of data never sent (their write failed). Only the read session goes back.
                own.loaders.close()

    async def on_execute(self):
        ctx = self.execution_context.context
        if hasattr(ctx, "still_authorized") and not ctx.still_authorized():
            raise TokenRevoked("the token was revoked")
        yield
        if hasattr(ctx, "aclose"):
            await self._closed(ctx, ctx.aclose(), self.execution_context.result)

    async def on_stream_result(self, result):
        ctx = self.execution_context.context
        if hasattr(ctx, "end_streamed_result"):
            await self._closed(ctx, ctx.end_streamed_result(), result)
        yield

    @staticmethod
    async def _closed(ctx, closing, result) -> None:
        try:
            await closing
        except Exception as e:  # noqa: BLE001 - every failure is withheld, logged and masked alike
            if result is None or not hasattr(result, "errors"):
                raise
            ctx.pending_reads = []  # of data withheld: not written with the next result (on_stream_result)
            error = GraphQLError(str(e), original_error=e)
            log_errors([error])  # strawberry logged the result's errors before this hook ran
            result.data = None
            result.errors = [*(result.errors or ()), error]


class _Document:
    """A parsed document carried through the validation cache without being part of its key (its text is)."""

    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other) -> bool:
        return isinstance(other, _Document)


@cache
def _validate_cache(maxsize: int):
    from strawberry.schema.schema import validate_document

    @lru_cache(maxsize=maxsize)
    def validate(schema, text: str, rules, document: _Document):
        return validate_document(schema, document.node, rules)

    return validate


class ValidationCache(SchemaExtension):
    """strawberry's ValidationCache keyed by the document's *text* (with the schema and the rules), not by its syntax
    tree: graphql-core's node equality compares offsets, not the text, so two documents with the same tree at the same
    offsets but other line breaks were one entry, and the second got the first one's error locations (lines, columns).
    The text decides the tree, so a hit is exactly what validating again would answer. No text (a document given
    parsed): validated every time."""

    def __init__(self, maxsize: int = 512) -> None:
        super().__init__()
        self.validate = _validate_cache(maxsize)

    def on_validate(self):
        ec = self.execution_context
        if isinstance(ec.query, str):
            ec.pre_execution_errors = self.validate(ec.schema._schema, ec.query, ec.validation_rules,
                                                    _Document(ec.graphql_document))
        yield


class HubSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Log each error once, by class (hub/api/errors.py): refusals without traceback, nothing with an ID number."""
        log_errors(errors)


def build_schema(*, production: bool = False, max_depth: int = 12, max_aliases: int = 30, max_tokens: int = 5000,
                 max_cost: int = 50_000) -> strawberry.Schema:
    # Classes or factories, never instances: strawberry builds each request its own extensions (instances shared
    # between concurrent requests are deprecated). The parser and validation caches live at module level in
    # strawberry, keyed by maxsize, so a fresh ParserCache per request still hits the same cache.
    # The validation rules are built once, here: ValidationCache keys its entries by (schema, document, rules), and
    # strawberry's QueryDepthLimiter and MaxAliasesLimiter make a new rule class each time one is constructed — built
    # per request, every request missed the cache and validated its document again (issue 18, session 8). The
    # order is theirs: depth, aliases, then the hub's rules.
    validation_rules = (QueryDepthLimiter(max_depth=max_depth).validation_rules
                        + MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules
                        + [cost_rule(max_cost), NoUnstorableLiterals]
                        + ([NoSchemaIntrospectionCustomRule] if production else []))
    extensions = [
        lambda: ParserCache(maxsize=512),  # partners send the same few documents again and again
        lambda: ValidationCache(maxsize=512),  # the validation rules below do not depend on variables: caching is safe
        FlushAccessLog,
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: AddValidationRules(validation_rules),
        variable_cost_limit(max_cost),  # the cost again with the request's variable values
        InputGuard,
        lambda: HubErrors(production=production),  # what the client sees of each error, in every mode
    ]
    return HubSchema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions,
                             execution_context_class=HubExecutionContext,
                             config=StrawberryConfig(disable_field_suggestions=True))


schema = build_schema()
