"""Query limits the OWASP GraphQL cheat sheet asks for, beyond what strawberry ships: a cost limit computed from
requested page sizes, and a limit on the size of a request body. Depth, aliases and tokens use strawberry's own
extensions (see hub/api/build.py).

The cost is checked twice: by a validation rule on the document alone (literal page sizes; a `first: $n` counts as 1
there, since validation is cached per document and does not see variables), and again just before the operation
runs, with the request's variable values (``check_variable_cost``): a query refused with literals is refused with
the same sizes as variables too."""

from __future__ import annotations

import json

from graphql import (FieldNode, GraphQLError, OperationDefinitionNode, ValidationRule, VariableNode,
                     value_from_ast_untyped)
from graphql.language import FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode

from hub.api.pagination import DEFAULT_FIRST, MAX_FIRST

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def _page_size(value) -> int | None:
    """A `first` value as the cost counts it: an int, or None (not given / null / not a number: the default)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def selection_cost(selection_set, multiplier: int, variables: dict | None, fragments: dict,
                   seen: frozenset = frozenset()) -> int:
    """The product of page sizes along each path below ``selection_set``, summed. ``variables``: the request's
    variable values (a `first: $n` whose variable is missing or null counts as the default page size); None when
    they are not known yet (validation): a `first: $n` then counts as 1, and the check with values comes later."""
    if selection_set is None:
        return 0
    total = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            size = None
            for arg in sel.arguments or ():
                if arg.name.value == "first":
                    if isinstance(arg.value, VariableNode):
                        # validation (no values yet): the smallest page; execution: the value or the default
                        size = 1 if variables is None else _page_size(variables.get(arg.value.name.value))
                    else:
                        size = _page_size(getattr(arg.value, "value", None))
            if sel.selection_set is not None and size is None and sel.name.value in LIST_FIELDS:
                size = DEFAULT_FIRST
            m = multiplier * max(1, min(size, MAX_FIRST)) if size is not None else multiplier
            total += (m if size is not None else 0) + selection_cost(sel.selection_set, m, variables, fragments, seen)
            total += multiplier * FIXED_COST.get(sel.name.value, 0)
        elif isinstance(sel, InlineFragmentNode):
            total += selection_cost(sel.selection_set, multiplier, variables, fragments, seen)
        elif isinstance(sel, FragmentSpreadNode):
            name = sel.name.value
            if name in fragments and name not in seen:
                total += selection_cost(fragments[name].selection_set, multiplier, variables, fragments, seen | {name})
    return total


def _fragments(document) -> dict:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _cost_error(cost: int, max_cost: int, node=None) -> GraphQLError:
    return GraphQLError(
        f"query cost {cost} exceeds the cost limit {max_cost} (cost = product of page sizes `first` along "
        f"each path; ask for smaller pages)", node, extensions={"code": "COST_LIMIT"})


def cost_rule(max_cost: int):
    """A validation rule: the product of page sizes along each path, summed over the query, must stay ≤ max_cost
    (a `first: $n` counts as 1 here; ``check_variable_cost`` counts the values when the operation runs)."""

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_):
            cost = selection_cost(node.selection_set, 1, None, _fragments(self.context.document))
            if cost > max_cost:
                self.report_error(_cost_error(cost, max_cost, node))

    return CostLimit


def check_variable_cost(execution_context, max_cost: int) -> None:
    """Refuse, before execution, an operation (a subscription too) whose cost with its variable values exceeds
    ``max_cost`` (same error as the validation rule: code COST_LIMIT); hub.api.build.HubRequest runs it as the
    operation is about to execute."""
    ec = execution_context
    if ec.graphql_document is not None and not ec.result:
        operations = [d for d in ec.graphql_document.definitions if isinstance(d, OperationDefinitionNode)]
        if ec.operation_name:
            operations = [o for o in operations if o.name is not None and o.name.value == ec.operation_name]
        if len(operations) == 1:
            cost = selection_cost(operations[0].selection_set, 1, _values(operations[0], ec.variables),
                                  _fragments(ec.graphql_document))
            if cost > max_cost:
                # raised (as refuse_unstorable_variables does), not set as the result: a subscription ignores a
                # result set before execution and would run; a raised error ends queries, mutations and
                # subscriptions alike
                raise _cost_error(cost, max_cost, operations[0])


def _values(operation: OperationDefinitionNode, variables: dict | None) -> dict:
    """The variable values the operation runs with: the request's, else each variable's default in the document
    (`query($n: Int = 500)` without a value runs with 500, so it costs 500)."""
    values = {d.variable.name.value: value_from_ast_untyped(d.default_value)
              for d in operation.variable_definitions or () if d.default_value is not None}
    return values | dict(variables or {})


class BodySizeLimit:
    """ASGI middleware: an HTTP request whose body is larger than ``max_bytes`` is answered 413 before anything
    parses it, by its Content-Length or, for a body without one (chunked), by counting what arrives. The body is
    read at most ``max_bytes`` + 1 bytes far, then handed on unchanged."""

    def __init__(self, app, max_bytes: int = DEFAULT_MAX_BODY_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = None
            if declared is not None and declared > self.max_bytes:
                return await self._too_large(send)
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # disconnect: hand it on
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return await self._too_large(send)
            if not message.get("more_body", False):
                break
        pending = iter(messages)

        async def replay():
            try:
                return next(pending)
            except StopIteration:
                return await receive()

        return await self.app(scope, replay, send)

    async def _too_large(self, send) -> None:
        body = json.dumps({"errors": [{
            "message": f"request body larger than {self.max_bytes} bytes (HUB_HTTP_MAX_BODY_BYTES)",
            "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


# Connection fields whose default page size counts when `first` is not given: every field with a `first` argument
# (tests/integration/test_request_limits.py checks the schema against this list).
# Fields that read many rows whatever their arguments: a statistical report scans the registry (tens of thousands of
# rows on a city) and may log a read per person; each counts this much, so aliases cannot multiply them unnoticed.
FIXED_COST = {"report": 10_000,
              # issue 17: each computes from the whole registry (and the year's operation log) as a report does
              "scorecards": 10_000, "absorptionLedger": 10_000, "evaluation": 10_000, "scoreEvaluation": 10_000,
              "decideEvaluation": 10_000,
              # a year's league table: one decided result per unit of the city, unpaged (ten fill the limit)
              "evaluations": 5_000}
LIST_FIELDS = {"units", "persons", "mismatches", "postings", "accessLog", "accessHistory", "headcountConsistency",
               "onboardings", "hiringPlans", "documents", "findings"}
