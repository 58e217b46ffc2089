"""Build the strawberry schema with the configured limits (one place)."""

from __future__ import annotations

from functools import cache, lru_cache

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.types.execution import ExecutionResult as StrawberryExecutionResult

from hub.api.context import TokenRevoked
from hub.api.errors import HubErrors, NoUnstorableLiterals, log_errors, refuse_unstorable_variables
from hub.api.execution import HubExecutionContext
from hub.api.limits import check_variable_cost, cost_rule
from hub.api.schema import Mutation, Query, Subscription


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


def hub_request(*, validation_rules: list, max_tokens: int, max_cost: int, production: bool,
                parse_cache_size: int = 512, validation_cache_size: int = 512) -> type[SchemaExtension]:
    """The hub's work in each operation's lifecycle, as one schema extension class (strawberry makes an instance per
    request). It was eight extensions — strawberry's ParserCache, MaxTokensLimiter and AddValidationRules, and the
    hub's ValidationCache, FlushAccessLog, cost with variables, InputGuard and HubErrors — and strawberry looks up
    and wraps every hook of every extension for every request (4 stages × 8 extensions: ~0.2 ms of a person lookup's
    CPU, issue 18, session 11). One class does the same things in the same order:

    * on_operation: a graphql-transport-ws operation gets a context of its own (``HubContext.for_operation``,
      closed when it ends — for a subscription, when its stream ends: its reads are logged as it goes); the
      token limit goes to the parser; the validation rules are added; afterwards each error of the result is
      shaped for the client (``HubErrors``, a stream's results as they go out: ``on_stream_result``).
    * on_parse: the document from the parser cache (partners send the same few documents again and again).
    * on_validate: the validation from the cache keyed by the document's *text* (``_validate_cache``).
    * on_execute: a graphql-transport-ws operation refused (``UNAUTHENTICATED``) once the connection's token is
      revoked, as an HTTP request is (401) — the token was checked only in ``connection_init``, so an open socket
      went on reading and writing with a revoked token (``HubContext.still_authorized``; within
      ``HUB_TOKEN_CACHE_S``); the cost with the request's variable values (``limits.check_variable_cost``) and the
      variables' text (``errors.refuse_unstorable_variables``) checked — raised, the operation does not run — and,
      after the execution, the operation's person reads written to the access log (``_closed``).
    * on_stream_result: each result a stream sends (a subscription's event, a graphql-transport-ws answer) has its
      reads written and its read session closed before it goes out (``HubContext.end_streamed_result``), then its
      errors shaped. A subscription's resolver writes the reads of the data it yields, but the event's selection
      runs after that (``mismatchEvents { unit { postings … person { name } } }``): those reads went out unlogged
      (written with the next event, after it, or never), and each subscription held a read connection from its
      first event to its end (a few subscriptions on one socket emptied the pool).
    """
    from strawberry.extensions.parser_cache import _get_parse_cache

    parse = _get_parse_cache(parse_cache_size)
    validate = _validate_cache(validation_cache_size)
    rules = tuple(validation_rules)
    errors = HubErrors(production=production)  # shapes errors; no state of a request

    class HubRequest(SchemaExtension):
        def __init__(self) -> None:
            self._stream_result_processed = False

        def on_operation(self):
            ec = self.execution_context
            own = ec.context.for_operation() if getattr(ec.context, "shared_by_operations", False) else None
            if own is not None:
                ec.context = own
            ec.parse_options["max_tokens"] = max_tokens
            ec.validation_rules = ec.validation_rules + rules
            try:
                yield
                if not self._stream_result_processed:  # a stream's results were shaped as they went out
                    result = ec.result
                    if isinstance(result, (GraphQLExecutionResult, StrawberryExecutionResult)):
                        errors._process_result(result)
                    elif initial_result := getattr(result, "initial_result", None):
                        errors._process_result(initial_result)
            finally:
                if own is not None:
                    # on_execute wrote a query's reads; a subscription writes its reads before each event goes
                    # out. Left here: reads of data never sent (their write failed). Only the read session goes back.
                    own.loaders.close()

        def on_parse(self):
            ec = self.execution_context
            try:
                ec.graphql_document = parse(ec.query, **ec.parse_options)
            except GraphQLError:
                # A syntax error (or too many tokens) raised here is outside strawberry's ``try`` around the parse:
                # ``Schema.stream`` (every graphql-transport-ws operation) raised it — the client got a bare
                # ``complete`` — and ``Schema.execute`` answered it unshaped. Left unparsed, strawberry parses the
                # document again after this hook and makes the error a pre-execution error (WebSocket: closed 4400
                # with the error, as strawberry does; HTTP: the same answer as before). lru_cache keeps no failure.
                pass
            yield

        def on_validate(self):
            ec = self.execution_context
            if isinstance(ec.query, str):
                ec.pre_execution_errors = validate(ec.schema._schema, ec.query, ec.validation_rules,
                                                   _Document(ec.graphql_document))
            yield

        async def on_execute(self):
            ec = self.execution_context
            ctx = ec.context
            if getattr(ctx, "reauthenticate", None) is not None and not ctx.still_authorized():
                raise TokenRevoked("the token was revoked")
            check_variable_cost(ec, max_cost)
            refuse_unstorable_variables(ec.variables)
            yield
            if hasattr(ctx, "aclose"):
                await _closed(ctx, ctx.aclose(), ec.result)

        async def on_stream_result(self, result):
            self._stream_result_processed = True
            ctx = self.execution_context.context
            if hasattr(ctx, "end_streamed_result"):
                await _closed(ctx, ctx.end_streamed_result(), result)
            errors._process_stream_result(result)
            yield None

    return HubRequest


async def _closed(ctx, closing, result) -> None:
    """Await ``closing`` — the access-log write and the read session's close at an operation's end
    (``HubContext.aclose``) or before a streamed result goes out (``HubContext.end_streamed_result``).

    If the write fails the answer is withheld (``data`` null) and the failure becomes one of the result's errors,
    logged and shaped like any other (``HubErrors``: a database error is "Unexpected error." to the client). Raised
    from here it would bypass both: strawberry sent its text — the statement and its parameters, the batch's ID
    numbers unmasked — to the client, in production too. The withheld data's reads are dropped, not written with the
    next result."""
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


class HubSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Log each error once, by class (hub/api/errors.py): refusals without traceback, nothing with an ID number."""
        log_errors(errors)


def build_schema(*, production: bool = False, max_depth: int = 12, max_aliases: int = 30, max_tokens: int = 5000,
                 max_cost: int = 50_000) -> strawberry.Schema:
    # A class, never an instance: strawberry builds each request its own extensions (instances shared between
    # concurrent requests are deprecated). The parser and validation caches live at module level, keyed by maxsize.
    # The validation rules are built once, here: ValidationCache keys its entries by (schema, document, rules), and
    # strawberry's QueryDepthLimiter and MaxAliasesLimiter make a new rule class each time one is constructed — built
    # per request, every request missed the cache and validated its document again (issue 18, session 8). The
    # order is theirs: depth, aliases, then the hub's rules.
    validation_rules = (QueryDepthLimiter(max_depth=max_depth).validation_rules
                        + MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules
                        + [cost_rule(max_cost), NoUnstorableLiterals]
                        + ([NoSchemaIntrospectionCustomRule] if production else []))
    extensions = [hub_request(validation_rules=validation_rules, max_tokens=max_tokens, max_cost=max_cost,
                              production=production)]
    return HubSchema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions,
                             execution_context_class=HubExecutionContext,
                             config=StrawberryConfig(disable_field_suggestions=True))


schema = build_schema()
