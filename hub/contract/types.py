"""Event `type` strings (contract section 4): what partners send and what the hub publishes."""

from __future__ import annotations

# In, by department.
IDENTITY_UPDATED = "gov.police.identity.updated"
EMPLOYMENT_UPDATED = "gov.hr.employment.updated"
PAYROLL_PAID = "gov.finance.payroll.paid"
PAYROLL_STOPPED = "gov.finance.payroll.stopped"
CONTRIBUTION_RECORDED = "gov.insurance.contribution.recorded"

POLICE_TYPES = frozenset({IDENTITY_UPDATED})
HR_TYPES = frozenset({EMPLOYMENT_UPDATED})
FINANCE_TYPES = frozenset({PAYROLL_PAID, PAYROLL_STOPPED})
INSURANCE_TYPES = frozenset({CONTRIBUTION_RECORDED})

# Out on registry.mismatches.v1.
MISMATCH_OPENED = "gov.registry.mismatch.opened"
MISMATCH_UPDATED = "gov.registry.mismatch.updated"  # an open mismatch whose details changed
MISMATCH_RESOLVED = "gov.registry.mismatch.resolved"

# Out on registry.deadletter.v1.
DEADLETTER = "gov.registry.deadletter"

# Out on registry.updates.v1: gov.registry.<entity>.<change> (contract section 4; one JSON Schema each in schema/events/).
PERSON_UPDATED = "gov.registry.person.updated"

# registry.supervision.v1 (gov.registry.finding.*) gets its types with the findings that publish them: each type here
# needs its schema (tests/integration/test_event_schemas.py).
