"""The registry's front door (contract section 9): hiring plans (用编计划), onboarding (用编进编) with joint review,
departure (出编), transfer (调动), unit freezes, and the approval forms each approval yields.

Each handler runs inside a caller's UnitOfWork, checks the caller first (``hub.domain.workflows.Caller``), writes the
operation log and publishes its events on ``registry.updates.v1`` through the outbox; a refusal raises a domain
error and changes nothing.
"""
