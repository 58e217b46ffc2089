"""Query limits the OWASP GraphQL cheat sheet asks for, beyond what strawberry ships: a cost limit computed from
requested page sizes. Depth, aliases and tokens use strawberry's own extensions (see hub/api/build.py)."""

from __future__ import annotations

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, ValidationRule, VariableNode
from graphql.language import FragmentSpreadNode, InlineFragmentNode

from hub.api.pagination import DEFAULT_FIRST, MAX_FIRST


def cost_rule(max_cost: int):
    """A validation rule: the product of page sizes along each path, summed over the query, must stay ≤ max_cost."""

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_):
            variables = (self.context.variable_values if hasattr(self.context, "variable_values") else None) or {}
            fragments = {f.name.value: f for f in self.context.document.definitions if hasattr(f, "type_condition") and f.name}
            cost = self._cost(node.selection_set, 1, variables, fragments, set())
            if cost > max_cost:
                self.report_error(GraphQLError(
                    f"query cost {cost} exceeds the cost limit {max_cost} (cost = product of page sizes `first` along "
                    f"each path; ask for smaller pages)", node, extensions={"code": "COST_LIMIT"}))

        def _cost(self, selection_set, multiplier, variables, fragments, seen) -> int:
            if selection_set is None:
                return 0
            total = 0
            for sel in selection_set.selections:
                if isinstance(sel, FieldNode):
                    size = None
                    for arg in sel.arguments or ():
                        if arg.name.value == "first":
                            if isinstance(arg.value, VariableNode):
                                size = variables.get(arg.value.name.value)
                            else:
                                size = int(getattr(arg.value, "value", DEFAULT_FIRST))
                    if sel.selection_set is not None and size is None and sel.name.value in LIST_FIELDS:
                        size = DEFAULT_FIRST
                    m = multiplier * max(1, min(int(size), MAX_FIRST)) if size is not None else multiplier
                    total += (m if size is not None else 0) + self._cost(sel.selection_set, m, variables, fragments, seen)
                elif isinstance(sel, InlineFragmentNode):
                    total += self._cost(sel.selection_set, multiplier, variables, fragments, seen)
                elif isinstance(sel, FragmentSpreadNode):
                    name = sel.name.value
                    if name in fragments and name not in seen:
                        total += self._cost(fragments[name].selection_set, multiplier, variables, fragments, seen | {name})
            return total

    return CostLimit


# Connection fields whose default page size counts when `first` is not given.
LIST_FIELDS = {"units", "persons", "mismatches", "postings", "accessLog", "accessHistory", "headcountConsistency"}
