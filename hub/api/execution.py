"""A leaner graphql-core execution context for the hub's large pages.

Most fields of a big page ("100 units × 50 postings × person") are leaves read straight from an attribute: strawberry
gives such "basic" fields (no resolver, no field extensions) a resolver that is ``getattr(source, python_name)``.
graphql-core still builds a resolve-info object, a response path and a completion call chain for every one of them.

``HubExecutionContext.execute_fields`` answers those leaves directly: the attribute, then the leaf type's output
coercion (the same ``coerce_output_value`` graphql-core calls). Anything else, and any leaf whose value is null for
a non-null type or whose coercion fails, takes graphql-core's own path, which then raises or reports exactly as
before (reading the attribute again is harmless: a basic field's resolver has no side effects). Field middleware
(schema extensions with a ``resolve`` hook) disables the shortcut.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLNonNull, is_leaf_type
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_BACKREF = "strawberry-definition"
_NO = None  # no shortcut for this (type, field)


def _plan(parent_type, field_name: str):
    """(python attribute name, leaf type, nullable) for a basic leaf field, else None."""
    field_def = parent_type.fields.get(field_name)
    if field_def is None:
        return _NO
    resolve = field_def.resolve
    if resolve is None or not getattr(resolve, "_is_default", False):
        return _NO
    sfield = (field_def.extensions or {}).get(_BACKREF)
    if sfield is None or not getattr(sfield, "is_basic_field", False) or field_def.args:
        return _NO
    if sfield.default_resolver is not getattr:
        return _NO
    rtype = field_def.type
    nullable = not isinstance(rtype, GraphQLNonNull)
    leaf = rtype if nullable else rtype.of_type
    if not is_leaf_type(leaf):
        return _NO
    return sfield.python_name, leaf.coerce_output_value, nullable


class HubExecutionContext(StrawberryGraphQLCoreExecutionContext):
    _plans: dict = {}  # (parent GraphQLObjectType id, field name) → plan; types live as long as their schema

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        mm = self.middleware_manager  # strawberry passes one even without middleware: look inside
        if mm is not None and getattr(mm, "_middleware_resolvers", True) is not None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        plans = self._plans
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        tid = id(parent_type)
        try:
            for response_name, field_details_list in grouped_field_set.items():
                field_name = field_details_list[0].node.name.value
                key = (tid, field_name)
                try:
                    plan = plans[key]
                except KeyError:
                    plan = plans[key] = (_plan(parent_type, field_name), parent_type)  # keep the type alive: ids stay unique
                plan = plan[0]
                if plan is not None:
                    attr, coerce, nullable = plan
                    try:
                        value = getattr(source_value, attr)
                        out = None if value is None else coerce(value)
                    except Exception:  # noqa: BLE001 - graphql-core's path below reports it
                        value = out = Undefined
                    if out is not None and out is not Undefined:
                        results[response_name] = out
                        continue
                    if value is None and nullable:
                        results[response_name] = None
                        continue
                result = self.execute_field(parent_type, source_value, field_details_list,
                                            Path(path, response_name, parent_type.name), position_context)
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._gather_fields(results, awaitable_fields)

    async def _gather_fields(self, results: dict, awaitable_fields: list[str]) -> dict:
        from graphql.pyutils import gather_with_cancel

        if len(awaitable_fields) == 1:
            field = awaitable_fields[0]
            results[field] = await results[field]
        else:
            awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
            results.update(zip(awaitable_fields, awaited, strict=True))
        return results
