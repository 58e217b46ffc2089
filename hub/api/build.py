"""Build the strawberry schema with the configured limits (one place)."""

from __future__ import annotations

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, ParserCache, SchemaExtension, ValidationCache, MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig

from hub.api.execution import HubExecutionContext
from hub.api.limits import cost_rule, variable_cost_limit
from hub.api.schema import Mutation, Query, Subscription


class FlushAccessLog(SchemaExtension):
    """Write the operation's person reads to the access log in one statement when it finishes."""

    async def on_execute(self):
        yield
        ctx = self.execution_context.context
        if hasattr(ctx, "aclose"):
            await ctx.aclose()


def _expected(error) -> bool:
    """Errors shown to clients even in production: refusals and validation messages."""
    orig = getattr(error, "original_error", None)
    if orig is None:
        return True  # parse and validation errors
    return isinstance(orig, ValueError) or getattr(orig, "extensions", None) is not None


def build_schema(*, production: bool = False, max_depth: int = 12, max_aliases: int = 30, max_tokens: int = 5000,
                 max_cost: int = 50_000) -> strawberry.Schema:
    extensions = [
        ParserCache(maxsize=512),  # partners send the same few documents again and again
        ValidationCache(maxsize=512),  # the validation rules below do not depend on variables, so caching is safe
        FlushAccessLog,
        QueryDepthLimiter(max_depth=max_depth),
        MaxAliasesLimiter(max_alias_count=max_aliases),
        MaxTokensLimiter(max_token_count=max_tokens),
        AddValidationRules([cost_rule(max_cost)] + ([NoSchemaIntrospectionCustomRule] if production else [])),
        variable_cost_limit(max_cost),  # the cost again with the request's variable values
    ]
    if production:
        extensions.append(MaskErrors(should_mask_error=lambda e: not _expected(e)))
    return strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions,
                             execution_context_class=HubExecutionContext,
                             config=StrawberryConfig(disable_field_suggestions=True))


schema = build_schema()
