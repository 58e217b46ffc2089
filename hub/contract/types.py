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

# Out on registry.supervision.v1 (contract section 11; docs/supervision.md), key: finding id.
FINDING_OPENED = "gov.registry.finding.opened"
FINDING_UPDATED = "gov.registry.finding.updated"
FINDING_OVERDUE = "gov.registry.finding.overdue"
FINDING_CLOSED = "gov.registry.finding.closed"
FINDING_TYPES = {"opened": FINDING_OPENED, "updated": FINDING_UPDATED, "overdue": FINDING_OVERDUE,
                 "closed": FINDING_CLOSED}
