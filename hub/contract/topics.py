"""Topic names (contract section 3) and the CloudEvents `source` of each department and of the hub.

Every name is used with the configured prefix (``HUB_TOPIC_PREFIX``, ``Settings.topic``) in front of it.
"""

from __future__ import annotations

# In: one topic per department, keyed by citizen ID number.
POLICE_TOPIC = "police.identity.v1"
HR_TOPIC = "hr.employment.v1"
FINANCE_TOPIC = "finance.payroll.v1"
INSURANCE_TOPIC = "insurance.contribution.v1"

# Out: what the hub publishes (through the outbox).
UPDATES_TOPIC = "registry.updates.v1"  # every committed registry change, key: entity id
MISMATCHES_TOPIC = "registry.mismatches.v1"  # mismatch opened / updated / resolved, key: mismatch id
DEADLETTER_TOPIC = "registry.deadletter.v1"  # every inbound message the hub rejected, key: the original key
SUPERVISION_TOPIC = "registry.supervision.v1"  # supervision findings (section 11), key: finding id

INBOUND_TOPICS = (POLICE_TOPIC, HR_TOPIC, FINANCE_TOPIC, INSURANCE_TOPIC)
OUTBOUND_TOPICS = (UPDATES_TOPIC, MISMATCHES_TOPIC, DEADLETTER_TOPIC, SUPERVISION_TOPIC)

# The CloudEvents `source` of each department: the only one accepted on its topic (docs/connectors.md).
POLICE_SOURCE = "/gov/police"
HR_SOURCE = "/gov/hr"
FINANCE_SOURCE = "/gov/finance"
INSURANCE_SOURCE = "/gov/insurance"
REGISTRY_SOURCE = "/gov/registry"  # of every event the hub publishes
