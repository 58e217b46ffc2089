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

Each basic field's attribute is read once. The shortcut answers only values graphql-core would complete the same
way: not None for a non-null type, no None item in a list of non-null items, a list or tuple for a list, and values
that are neither awaitable, nor an exception, nor ``Undefined``; no directive on the field, no ``@defer`` below it,
no incremental-delivery context, sub-fields that collect without error. Anything else is completed by graphql-core
(``complete_value`` on the value already read), so it raises, awaits, nulls and reports exactly as before. Errors
below an answered field go through graphql-core's ``handle_field_error`` (null and an error for a nullable field,
propagation for a non-null one); awaitables are awaited with the same handling. Field middleware (schema extensions
with a ``resolve`` hook) turns the shortcut off. Plans are cached per schema.
"""

from __future__ import annotations

from types import GeneratorType
from typing import Any

from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, is_leaf_type
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_BACKREF = "strawberry-definition"
_LEAF, _OBJECT, _LIST, _DIRECT = 0, 1, 2, 3

# Types whose instances are never awaitable, exceptions or Undefined (values of any other kind take graphql-core's
# path, which raises, awaits or nulls them). Filled as values are met; bounded by the number of Python types used.
_PLAIN_TYPES: set[type] = {type(None), str, int, float, bool}


def direct(fn):
    """Mark a strawberry resolver ``fn(self, info)`` that the hub's executor may call directly: synchronous, no
    arguments besides ``info``, no field extensions, permission classes or exception handlers (checked when the
    field's plan is made; otherwise it runs through strawberry as usual)."""
    fn._hub_direct = True
    return fn


def _plain_object(t) -> GraphQLObjectType | None:
    return t if isinstance(t, GraphQLObjectType) and t.is_type_of is None else None


class HubExecutionContext(StrawberryGraphQLCoreExecutionContext):

    # --- plans: how to answer a (parent type, field) directly; one dict per schema -----------------------------
    def _plans(self) -> dict:
        plans = getattr(self.schema, "_hub_plans", None)
        if plans is None:
            plans = self.schema._hub_plans = {}
        return plans

    def _plan(self, parent_type, field_name: str):
        """(_LEAF, attribute, coerce, nullable, field) | (_OBJECT, attribute, object type, nullable, field)
        | (_LIST, attribute, item object type, nullable, field, item nullable, item type)
        | (_DIRECT, function, field, strawberry field, object type or None, Info class) | None."""
        field_def = parent_type.fields.get(field_name)
        if field_def is None or field_def.resolve is None:
            return None
        sfield = (field_def.extensions or {}).get(_BACKREF)
        if sfield is None or field_def.args:
            return None
        rtype = field_def.type
        nullable = not isinstance(rtype, GraphQLNonNull)
        inner = rtype if nullable else rtype.of_type
        base = getattr(sfield, "base_resolver", None)
        if base is not None:
            return self._direct_plan(field_def, sfield, base, _plain_object(inner))
        if not getattr(field_def.resolve, "_is_default", False) or not getattr(sfield, "is_basic_field", False) \
                or sfield.default_resolver is not getattr:
            return None
        if is_leaf_type(inner):
            return _LEAF, sfield.python_name, inner.coerce_output_value, nullable, field_def
        obj = _plain_object(inner)
        if obj is not None:
            return _OBJECT, sfield.python_name, obj, nullable, field_def
        if isinstance(inner, GraphQLList):
            item_type = inner.of_type
            item_nullable = not isinstance(item_type, GraphQLNonNull)
            obj = _plain_object(item_type if item_nullable else item_type.of_type)
            if obj is not None:
                return _LIST, sfield.python_name, obj, nullable, field_def, item_nullable, item_type
        return None

    def _direct_plan(self, field_def, sfield, base, obj_type):
        if not getattr(getattr(base, "wrapped_func", None), "_hub_direct", False):
            return None
        if sfield.extensions or sfield.is_async or base.arguments or base.info_parameter is None \
                or base.self_parameter is None or base.root_parameter is not None \
                or base.parent_parameter is not None:
            return None
        schema = getattr(self.schema, "_strawberry_schema", None)
        converter = getattr(schema, "schema_converter", None)
        handlers = getattr(converter, "_get_field_exception_handlers", None)
        if handlers is None or handlers(sfield):  # unknown, or exception handlers apply: strawberry's own path
            return None
        return _DIRECT, base.wrapped_func, field_def, sfield, obj_type, schema.config.info_class

    # --- execution --------------------------------------------------------------------------------------------
    # Compiled reads (hub/api/compiled/): a query in a compiled shape is answered by one SQL statement; None from
    # the planner (anything else, and SQLite) runs the fields below. Class attribute: tests turn it off to compare.
    compiled_reads = True

    def execute_collected_root_fields(self, root_type, root_value, grouped_field_set, serially, new_defer_usages):
        if self.compiled_reads and not serially and not new_defer_usages:
            mm = self.middleware_manager
            if mm is None or getattr(mm, "_middleware_resolvers", True) is None:
                from hub.api.compiled import answer

                compiled = answer(self, root_type, grouped_field_set)
                if compiled is not None:
                    return self._compiled_or_general(compiled, root_type, root_value, grouped_field_set, serially,
                                                     new_defer_usages)
        return super().execute_collected_root_fields(root_type, root_value, grouped_field_set, serially,
                                                     new_defer_usages)

    async def _compiled_or_general(self, compiled, *args):
        """The compiled answer; should its statement fail (it notes no read before it has succeeded), the general
        path answers instead, with its own errors."""
        try:
            return await compiled
        except Exception:  # noqa: BLE001 - logged; the general path answers and reports
            import logging

            logging.getLogger("hub.api.compiled").exception("compiled read failed; answered by the general path")
        result = super().execute_collected_root_fields(*args)
        return await result if self.is_awaitable(result) else result

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        mm = self.middleware_manager  # strawberry passes one even without middleware: look inside
        if mm is not None and getattr(mm, "_middleware_resolvers", True) is not None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        plans = self._plans()
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        parent_name = parent_type.name
        try:
            for response_name, field_details_list in grouped_field_set.items():
                field_name = field_details_list[0].node.name.value
                key = (parent_name, field_name)
                try:
                    plan = plans[key]
                except KeyError:
                    plan = plans[key] = self._plan(parent_type, field_name)
                if plan is None:
                    result = self.execute_field(parent_type, source_value, field_details_list,
                                                Path(path, response_name, parent_name), position_context)
                elif plan[0] == _DIRECT:
                    result = self._resolve_direct(plan, parent_type, source_value, path, response_name,
                                                  field_details_list, position_context)
                else:
                    result = self._basic(plan, parent_type, source_value, path, response_name, field_details_list,
                                         position_context)
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

    def _is_plain(self, value) -> bool:
        t = type(value)
        if t in _PLAIN_TYPES:
            return True
        if isinstance(value, (BaseException, GeneratorType)) or value is Undefined or self.is_awaitable(value):
            return False
        _PLAIN_TYPES.add(t)  # only generators can be awaitable by instance (excluded above)
        return True

    def _basic(self, plan, parent_type, source_value, path, response_name, field_details_list, position_context):
        """A field strawberry answers with ``getattr``: the attribute is read once; what the shortcut does not
        answer goes to ``_complete_resolved`` with that value, as graphql-core would complete it."""
        kind, attr = plan[0], plan[1]
        try:
            value = getattr(source_value, attr)
        except Exception as raw_error:  # the resolver raised: execute_field's handling
            field_path = Path(path, response_name, parent_type.name)
            self.handle_field_error(raw_error, plan[4].type, field_details_list, field_path)
            return None
        if kind == _LEAF:
            if type(value) in _PLAIN_TYPES or self._is_plain(value):
                if value is None:
                    if plan[3]:
                        return None
                else:
                    try:
                        out = plan[2](value)
                    except Exception:  # noqa: BLE001 - graphql-core's path below reports it
                        out = None
                    if out is not None and out is not Undefined:
                        return out
        elif position_context is None:
            out = self._complete_basic(plan, parent_type, path, response_name, field_details_list, value)
            if out is not Undefined:
                return out
        return self._complete_resolved(plan[4], parent_type, field_details_list,
                                       Path(path, response_name, parent_type.name), value, position_context)

    def _complete_resolved(self, field_def, parent_type, field_details_list, field_path, result, position_context,
                           info=None):
        """graphql-core's execute_field after its resolver returned ``result``."""
        return_type = field_def.type
        if info is None:
            info = self.build_resolve_info(field_def, [fd.node for fd in field_details_list], parent_type, field_path)
        try:
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

    def _resolve_direct(self, plan, parent_type, source_value, path, response_name, field_details_list,
                        position_context):
        """graphql-core's execute_field for a ``@direct`` resolver, calling it without strawberry's wrapper."""
        _, fn, field_def, sfield, obj_type, info_class = plan
        return_type = field_def.type
        field_path = Path(path, response_name, parent_type.name)
        info = self.build_resolve_info(field_def, [fd.node for fd in field_details_list], parent_type, field_path)
        try:
            result = fn(source_value, info_class(_raw_info=info, _field=sfield))
            if result is not None and obj_type is not None and position_context is None \
                    and not any(fd.node.directives for fd in field_details_list) and self._is_plain(result):
                # complete_value of an object without is_type_of: execute its collected sub-fields
                grouped, defers, _ = self.collect_subfields(obj_type, field_details_list)
                if not defers:
                    completed = self.execute_fields(obj_type, result, field_path, grouped, None)
                    if self.is_awaitable(completed):
                        return self._await_field(completed, return_type, field_details_list, field_path)
                    return completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, field_path)
            return None
        return self._complete_resolved(field_def, parent_type, field_details_list, field_path, result,
                                       position_context, info)

    def _complete_basic(self, plan, parent_type, path, response_name, field_details_list, value):
        """An object or list-of-objects basic field from its value, or Undefined (nothing below it has run)."""
        for fd in field_details_list:
            if fd.node.directives:
                return Undefined
        kind, obj_type, nullable, field_def = plan[0], plan[2], plan[3], plan[4]
        if value is None:
            return None if nullable else Undefined
        if kind == _LIST:
            if not isinstance(value, (list, tuple)):
                return Undefined
            item_nullable = plan[5]
            for item in value:
                if item is None:
                    if not item_nullable:
                        return Undefined
                elif type(item) not in _PLAIN_TYPES and not self._is_plain(item):
                    return Undefined
        elif not self._is_plain(value):
            return Undefined
        try:
            grouped, defers, _ = self.collect_subfields(obj_type, field_details_list)
        except Exception:  # noqa: BLE001 - graphql-core's path reports it where it belongs
            return Undefined
        if defers:
            return Undefined
        rtype = field_def.type
        field_path = Path(path, response_name, parent_type.name)
        try:
            if kind == _OBJECT:
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
