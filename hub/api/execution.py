"""A leaner graphql-core execution context for the hub's large pages.

Most fields of a big page ("100 units × 50 postings × person") are read straight from an attribute: strawberry gives
such "basic" fields (no resolver, no field extensions, no arguments) a resolver that is ``getattr(source,
python_name)``. graphql-core still builds a resolve-info object, a response path and a completion call chain
(``execute_field`` → ``complete_value`` → ``complete_object_value`` / ``complete_list_value`` → …) for every one.

``HubExecutionContext.execute_fields`` answers basic fields directly:

* a leaf (scalar, enum): the attribute, then the leaf type's output coercion (the ``coerce_output_value``
  graphql-core calls);
* an object (no ``is_type_of``): the attribute, then this method again on the object's collected sub-fields;
* a list of such objects (a connection's ``edges``): the same for each item, with per-item paths;
* a resolver marked ``@direct`` (synchronous, ``(self, info)`` only, no arguments, no field extensions): called
  with strawberry's ``Info`` but without strawberry's per-call resolver glue (argument conversion, extension chain,
  exception-handler wrappers, which such a resolver does not use), then completed by graphql-core's own
  ``complete_value``.

Errors raised below such a field are handled as graphql-core's ``execute_field`` handles them
(``handle_field_error``: null and an error for a nullable field, propagation for a non-null one), awaitables are
awaited with the same error handling. Before anything below a field runs, any case graphql-core would treat
differently falls back to its own path: a null for a non-null type, a null item in a list of non-null items, a
value that is not a list, a failed coercion, an exception while reading the attribute, any directive on the field
(``@stream``, ``@skip``…), deferred fragments (``@defer``) or an incremental-delivery context, and field middleware
(schema extensions with a ``resolve`` hook). The fallback then raises or reports exactly as before (reading the
attribute again is harmless: a basic field has no side effects).
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, is_leaf_type
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import Info

_BACKREF = "strawberry-definition"
_NO = None  # no shortcut for this (type, field)
_LEAF, _OBJECT, _LIST, _DIRECT = 0, 1, 2, 3


def direct(fn):
    """Mark a strawberry resolver ``fn(self, info)`` that the hub's executor may call directly: synchronous, no
    arguments besides ``info``, no field extensions or permission classes (``_plan`` checks all of these)."""
    fn._hub_direct = True
    return fn


def _plain_object(t) -> GraphQLObjectType | None:
    return t if isinstance(t, GraphQLObjectType) and t.is_type_of is None else None


def _plan(parent_type, field_name: str):
    """How to answer a basic field directly, else None:
    (_LEAF, attribute, coerce, nullable) | (_OBJECT, attribute, object type, nullable, field type)
    | (_LIST, attribute, item object type, nullable, field type, item nullable, item type)."""
    field_def = parent_type.fields.get(field_name)
    if field_def is None:
        return _NO
    resolve = field_def.resolve
    sfield = (field_def.extensions or {}).get(_BACKREF)
    if resolve is not None and sfield is not None and not field_def.args:
        base = getattr(sfield, "base_resolver", None)
        fn = getattr(base, "wrapped_func", None)
        if getattr(fn, "_hub_direct", False) and not sfield.extensions and not sfield.is_async \
                and [a.python_name for a in base.arguments] == [] and base.info_parameter is not None:
            rtype = field_def.type
            return _DIRECT, fn, field_def, sfield, _plain_object(rtype.of_type if isinstance(rtype, GraphQLNonNull) else rtype)
    if resolve is None or not getattr(resolve, "_is_default", False):
        return _NO
    if sfield is None or not getattr(sfield, "is_basic_field", False) or field_def.args:
        return _NO
    if sfield.default_resolver is not getattr:
        return _NO
    rtype = field_def.type
    nullable = not isinstance(rtype, GraphQLNonNull)
    inner = rtype if nullable else rtype.of_type
    if is_leaf_type(inner):
        return _LEAF, sfield.python_name, inner.coerce_output_value, nullable
    obj = _plain_object(inner)
    if obj is not None:
        return _OBJECT, sfield.python_name, obj, nullable, rtype
    if isinstance(inner, GraphQLList):
        item_type = inner.of_type
        item_nullable = not isinstance(item_type, GraphQLNonNull)
        obj = _plain_object(item_type if item_nullable else item_type.of_type)
        if obj is not None:
            return _LIST, sfield.python_name, obj, nullable, rtype, item_nullable, item_type
    return _NO


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
                    if plan[0] == _LEAF:
                        _, attr, coerce, nullable = plan
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
                    elif plan[0] == _DIRECT:
                        out = self._resolve_direct(plan, parent_type, source_value, path, response_name,
                                                   field_details_list, position_context)
                        if out is not Undefined:
                            results[response_name] = out
                            if is_awaitable(out):
                                awaitable_fields.append(response_name)
                        continue
                    elif position_context is None:
                        out = self._complete_basic(plan, parent_type, source_value, path, response_name,
                                                   field_details_list)
                        if out is not Undefined:
                            results[response_name] = out
                            if is_awaitable(out):
                                awaitable_fields.append(response_name)
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
        return self._gather(results, awaitable_fields)

    def _resolve_direct(self, plan, parent_type, source_value, path, response_name, field_details_list,
                        position_context):
        """graphql-core's execute_field for a ``@direct`` resolver, calling it without strawberry's wrapper."""
        _, fn, field_def, sfield, obj_type = plan
        return_type = field_def.type
        field_path = Path(path, response_name, parent_type.name)
        info = self.build_resolve_info(field_def, [fd.node for fd in field_details_list], parent_type, field_path)
        try:
            result = fn(source_value, Info(_raw_info=info, _field=sfield))
            if result is not None and obj_type is not None and position_context is None \
                    and not any(fd.node.directives for fd in field_details_list):
                # complete_value of an object without is_type_of: execute its collected sub-fields
                grouped, defers, _ = self.collect_subfields(obj_type, field_details_list)
                if not defers and not isinstance(result, Exception) and not self.is_awaitable(result):
                    completed = self.execute_fields(obj_type, result, field_path, grouped, None)
                    if self.is_awaitable(completed):
                        return self._await_field(completed, return_type, field_details_list, field_path)
                    return completed
            if self.is_awaitable(result):
                return self.complete_awaitable_value(return_type, field_details_list, info, field_path, result,
                                                     position_context)
            completed = self.complete_value(return_type, field_details_list, info, field_path, result,
                                            position_context)
            if self.is_awaitable(completed):
                return self._await_field(completed, return_type, field_details_list, field_path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, field_path)
            return None
        return completed

    def _complete_basic(self, plan, parent_type, source_value, path, response_name, field_details_list):
        """An object or list-of-objects basic field, or Undefined to take graphql-core's path (nothing has run)."""
        for fd in field_details_list:
            if fd.node.directives:
                return Undefined
        try:
            value = getattr(source_value, plan[1])
        except Exception:  # noqa: BLE001
            return Undefined
        nullable, rtype = plan[3], plan[4]
        if value is None:
            return None if nullable else Undefined
        obj_type = plan[2]
        if plan[0] == _LIST:
            if not isinstance(value, (list, tuple)):
                return Undefined
            if not plan[5] and any(item is None for item in value):
                return Undefined
        grouped, defers, _ = self.collect_subfields(obj_type, field_details_list)
        if defers:
            return Undefined
        field_path = Path(path, response_name, parent_type.name)
        try:
            if plan[0] == _OBJECT:
                out = self.execute_fields(obj_type, value, field_path, grouped, None)
            else:
                out = self._complete_items(obj_type, plan[6], field_details_list, field_path, value, grouped)
        except Exception as raw_error:
            self.handle_field_error(raw_error, rtype, field_details_list, field_path)  # raises for non-null
            return None
        if self.is_awaitable(out):
            return self._await_field(out, rtype, field_details_list, field_path)
        return out

    async def _await_field(self, out, rtype, field_details_list, field_path):
        try:
            return await out
        except Exception as raw_error:
            self.handle_field_error(raw_error, rtype, field_details_list, field_path)
            return None

    def _complete_items(self, obj_type, item_type, field_details_list, path, items, grouped):
        """graphql-core's complete_iterable_value for items of one object type (no stream)."""
        is_awaitable = self.is_awaitable
        execute_fields = self.execute_fields
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                if item is None:  # a nullable item (non-null items were checked before)
                    completed.append(None)
                    continue
                item_path = path.add_key(index, None)
                try:
                    out = execute_fields(obj_type, item, item_path, grouped, None)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    out = None
                if is_awaitable(out):
                    out = self._await_field(out, item_type, field_details_list, item_path)
                    awaitable_indices.append(index)
                completed.append(out)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed[i] for i in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed
        return self._gather(completed, awaitable_indices)

    @staticmethod
    async def _gather(container, keys: list):
        """Await ``container[k]`` for each key (response names of a dict, indices of a list), in parallel."""
        from graphql.pyutils import gather_with_cancel

        if len(keys) == 1:
            k = keys[0]
            container[k] = await container[k]
        else:
            awaited = await gather_with_cancel(*(container[k] for k in keys))
            for k, value in zip(keys, awaited, strict=True):
                container[k] = value
        return container
