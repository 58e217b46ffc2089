"""Issue 18 (session 11): the hub's work in an operation's lifecycle is one schema extension (hub/api/build.py
``hub_request``), not eight. strawberry makes every extension anew for every request and, for each of its four
stages (operation, parse, validation, execution), looks up and wraps every extension's hook: eight extensions
cost a person lookup 32 look-ups and 9 wrapped hooks (~0.2 ms). What the eight did is checked where it is done:
tests/integration/test_request_limits.py (tokens, depth, aliases, cost with and without variables, NUL),
test_masking_property.py and test_masked_stream_order.py (errors shaped), test_access_log_write_failure.py (a failed
write withholds the answer), test_websocket_operation_context.py (an operation's own context)."""

from __future__ import annotations

import asyncio

from strawberry.extensions.context import (ExecutingContextManager, OperationContextManager, ParsingContextManager,
                                           ValidationContextManager)

from hub.api.build import _validate_cache, build_schema


def test_a_request_runs_one_extension_with_one_hook_per_stage():
    schema = build_schema()
    extensions = schema.get_extensions()
    assert len(extensions) == 1
    stages = (OperationContextManager, ParsingContextManager, ValidationContextManager, ExecutingContextManager)
    assert [len(stage(extensions).hooks) for stage in stages] == [1, 1, 1, 1]


def test_the_one_extension_still_limits_caches_and_refuses():
    few = build_schema(max_tokens=20)  # the parser's token limit
    many = "{ " + " ".join(f"a{i}: __typename" for i in range(20)) + " }"
    assert "more than 20 tokens" in asyncio.run(few.execute(many)).errors[0].message
    schema = build_schema(max_cost=100)
    run = lambda q, v=None: asyncio.run(schema.execute(q, variable_values=v))  # noqa: E731
    # the validation cache, the cost with the variables' values and the variables' text
    cache = _validate_cache(512)
    before = cache.cache_info().hits
    assert run("query S11 { __typename }").data == {"__typename": "Query"}
    assert run("query S11 { __typename }").data == {"__typename": "Query"}
    assert cache.cache_info().hits == before + 1
    paged = "query P($n: Int) { units(first: $n) { totalCount } }"
    refused = run(paged, {"n": 500})
    assert refused.data is None and refused.errors[0].extensions["code"] == "COST_LIMIT"
    bad = run("query V($c: String!) { unit(code: $c) { code } }", {"c": "a\x00b"})
    assert bad.data is None and bad.errors[0].extensions["code"] == "BAD_USER_INPUT"


def test_a_document_that_does_not_parse_is_a_pre_execution_error_over_a_stream_too():
    """Session-11 review of s11-lookup: the parse (cached, with the token limit) ran in the extension's ``on_parse``
    before its ``yield`` — outside the ``try`` in which strawberry turns a syntax error into a pre-execution error.
    ``Schema.execute`` (HTTP) caught it further out (unshaped, after ``on_operation``), but ``Schema.stream`` (every
    graphql-transport-ws operation) raised it: the socket's client got a bare ``complete`` — no error, no 4400
    close — for a malformed document or one over the token limit, and the server logged a worker-task traceback.
    (strawberry's own ParserCache does the same; so did the eight-extension version.)"""
    from strawberry.types.execution import PreExecutionError

    schema = build_schema(max_tokens=20)

    async def stream(query):
        return [r async for r in await schema.stream(query)]

    many = "{ " + " ".join(f"a{i}: __typename" for i in range(20)) + " }"
    for query, why in (("{ __typename ", "Syntax Error: Expected Name"), (many, "more than 20 tokens")):
        results = asyncio.run(stream(query))
        assert len(results) == 1 and isinstance(results[0], PreExecutionError), results
        assert why in results[0].errors[0].message and results[0].data is None
        answer = asyncio.run(schema.execute(query))  # over HTTP: the same error, as before
        assert isinstance(answer, PreExecutionError) and why in answer.errors[0].message
    assert asyncio.run(stream("{ __typename }"))[0].data == {"__typename": "Query"}  # a good one still parses


def test_an_unknown_operation_name_over_a_stream_is_the_clients_mistake_in_production_too(caplog):
    """Session-11 review of s11-lookup (as in the eight-extension version): over graphql-transport-ws an
    ``operationName`` the document does not hold came back as a server failure — INTERNAL_SERVER_ERROR, logged at
    ERROR with a traceback, and in production masked to "Unexpected error.", which also hid it from strawberry's
    handler (it closes the socket 4400 with the reason only when it recognises the error). HTTP answers it 400."""
    import logging

    for production in (False, True):
        schema = build_schema(production=production)

        async def stream():
            return [r async for r in await schema.stream("query A { __typename }", operation_name="C")]

        with caplog.at_level(logging.INFO, logger="hub.api"):
            caplog.clear()
            (result,) = asyncio.run(stream())
        (error,) = result.errors
        assert error.message == 'Unknown operation named "C".' and error.extensions["code"] == "BAD_USER_INPUT"
        assert type(error.original_error).__name__ == "CannotGetOperationTypeError"  # strawberry closes 4400 on it
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
