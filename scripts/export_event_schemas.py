"""Write one JSON Schema per event type to schema/events/<type>.schema.json (the partners' contract of each event).

    python scripts/export_event_schemas.py          # write the files
    python scripts/export_event_schemas.py --check  # exit 1 when a file is missing or differs

tests/integration/test_event_schemas.py validates what the hub really publishes (its outbox) and accepts (the
inbound models of hub.contract.inbound) against these files, so they cannot drift from the code unnoticed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.contract.topics import (  # noqa: E402 - the repository root is on the path from here on
    DEADLETTER_TOPIC as DEAD,
    FINANCE_TOPIC,
    HR_TOPIC,
    INSURANCE_TOPIC,
    MISMATCHES_TOPIC as MISMATCHES,
    SUPERVISION_TOPIC as SUPERVISION,
    POLICE_TOPIC,
    UPDATES_TOPIC as UPDATES,
)

OUT = Path(__file__).resolve().parents[1] / "schema" / "events"

ID_NUMBER = {"type": "string", "pattern": "^[0-9]{17}[0-9Xx]$",
             "description": "citizen ID number (GB 11643-1999), check character verified; stored upper-case"}
UNIT_CODE = {"type": "string", "pattern": "^[0-9A-HJ-NPQRTUWXY]{18}$",
             "description": "unified social credit code (GB 32100-2015), check character verified"}
DATE = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date", "description": "YYYY-MM-DD"}
PERIOD = {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$", "description": "YYYY-MM"}
AMOUNT = {"type": "string", "pattern": "^-?[0-9]{1,12}(\\.[0-9]{1,4})?$", "description": "CNY, a decimal string"}
TIMESTAMP = {"type": "string", "format": "date-time",
             "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$",
             "description": "RFC 3339 with an offset"}
NAME = {"type": "string", "minLength": 1, "maxLength": 100}
SHA256 = {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}


def one_of(*values: str) -> dict:
    return {"type": "string", "enum": list(values)}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


UNIT_KIND = one_of("PARTY_ORGAN", "PEOPLES_CONGRESS", "GOVERNMENT_ORGAN", "CPPCC", "SUPERVISORY_ORGAN", "COURT",
                   "PROCURATORATE", "DEMOCRATIC_PARTY", "MASS_ORGANIZATION", "PUBLIC_INSTITUTION")
UNIT_LEVEL = one_of("CITY", "DISTRICT", "TOWNSHIP")
FUNDING = one_of("FULL", "PARTIAL", "SELF")
CATEGORY = one_of("ADMINISTRATIVE", "POLITICAL_LEGAL", "PUBLIC_INSTITUTION", "WORKER")
RANK = one_of("DIVISION_CHIEF", "DEPUTY_DIVISION_CHIEF", "SECTION_CHIEF", "DEPUTY_SECTION_CHIEF")
EDUCATION = one_of("DOCTORATE", "MASTER", "BACHELOR", "COLLEGE", "SECONDARY", "OTHER")
DEGREE = one_of("DOCTOR", "MASTER", "BACHELOR")
UNIT_GRADE = one_of("BUREAU", "DEPUTY_BUREAU", "DIVISION", "DEPUTY_DIVISION", "SECTION", "DEPUTY_SECTION")
INSTITUTION_CLASS = one_of("PUBLIC_WELFARE_1", "PUBLIC_WELFARE_2", "ADMINISTRATIVE_FUNCTIONS", "BUSINESS")
DISPATCHED_BODY = one_of("SUBDISTRICT_OFFICE", "DEVELOPMENT_ZONE")
NON_ESTABLISHMENT_KIND = one_of("CONTRACT", "LABOUR_DISPATCH", "SECONDMENT", "TEMPORARY_POST", "RETIREE_PENSION")
FLEXIBLE_RETIREMENT = one_of("EARLY", "DELAY")
MISMATCH_KIND = one_of("IDENTITY_UNKNOWN", "NAME_MISMATCH", "DECEASED_ACTIVE", "GHOST_PAYROLL", "PAYROLL_UNIT_MISMATCH",
                       "DOUBLE_PAYROLL", "UNPAID_POSTING", "INSURANCE_EMPLOYER_MISMATCH", "INSURANCE_MISSING",
                       "HR_STATUS_CONFLICT", "HR_UNIT_MISMATCH", "RETIREMENT_DUE", "OVER_QUOTA",
                       "LEADERSHIP_OVER_QUOTA", "HEADCOUNT_INCONSISTENT", "LEADER_RANK_CONFLICT", "MIXED_CATEGORY",
                       "UNAPPROVED_DEPARTMENT")
# hub.domain.vocabulary.WARNING_KINDS (管理预警); every other kind is a DISCREPANCY (比对疑点)
WARNING_KINDS = ("OVER_QUOTA", "LEADERSHIP_OVER_QUOTA", "RETIREMENT_DUE", "MIXED_CATEGORY", "UNAPPROVED_DEPARTMENT")


def data(required: dict, optional: dict | None = None, *, closed: bool = True) -> dict:
    """An object schema: ``required`` fields must be present, ``optional`` ones may be."""
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})},
            "additionalProperties": not closed}


# Inbound (section 4 of the contract): what partners send. Unknown data fields are ignored by the hub.
INBOUND = {
    "gov.police.identity.updated": ("police", POLICE_TOPIC, "police identity changes", data(
        {"id_number": ID_NUMBER, "name": NAME, "gender": one_of("M", "F"), "birth_date": DATE,
         "status": one_of("ALIVE", "DECEASED", "CANCELLED")}, {"photo_sha256": nullable(SHA256)}, closed=False)),
    "gov.hr.employment.updated": ("hr", HR_TOPIC, "HR employment changes", data(
        {"id_number": ID_NUMBER, "name": NAME, "unit_code": UNIT_CODE, "status": one_of("EMPLOYED", "RETIRED", "LEFT"),
         "effective_date": DATE}, {"rank": nullable({"type": "string", "maxLength": 100})}, closed=False)),
    "gov.finance.payroll.paid": ("finance", FINANCE_TOPIC, "a payroll line", data(
        {"id_number": ID_NUMBER, "name": NAME, "unit_code": UNIT_CODE, "period": PERIOD, "gross_amount": AMOUNT}, closed=False)),
    "gov.finance.payroll.stopped": ("finance", FINANCE_TOPIC, "pay stopped for a period", data(
        {"id_number": ID_NUMBER, "unit_code": UNIT_CODE, "period": PERIOD}, closed=False)),
    "gov.insurance.contribution.recorded": ("insurance", INSURANCE_TOPIC, "a social-insurance contribution", data(
        {"id_number": ID_NUMBER, "name": NAME, "employer_code": UNIT_CODE, "period": PERIOD, "base_amount": AMOUNT,
         "status": one_of("ACTIVE", "SUSPENDED", "TERMINATED")}, closed=False)),
}

# unit.* and person.created carry the registry's one builder's data (hub.service_layer.registry_changes.unit_data /
# person_data) on every path, ``hub import`` included: every field is present.
UNIT = data({"code": UNIT_CODE, "name": NAME, "kind": UNIT_KIND, "level": UNIT_LEVEL,
             "region_code": {"type": "string", "pattern": "^[0-9]{6}$"}, "parent_code": nullable(UNIT_CODE),
             "funding": FUNDING, "status": one_of("ACTIVE", "ABOLISHED"),
             "established_on": nullable(DATE), "abolished_on": nullable(DATE),
             "grade": {**nullable(UNIT_GRADE), "description": "机构规格; null: not recorded"},
             "civil_service_managed": {"type": "boolean", "description": "参照公务员法管理"},
             "classification": {**nullable(INSTITUTION_CLASS), "description": "事业单位分类 (public institutions only)"},
             "dispatched": {**nullable(DISPATCHED_BODY), "description": "派出机构 (organs only)"}})
QUOTA = data({"unit_code": UNIT_CODE, "category": CATEGORY, "approved": {"type": "integer", "minimum": 0},
              "document_number": nullable({"type": "string"}), "effective_date": nullable(DATE)})
LEADER_QUOTA = data({"unit_code": UNIT_CODE, "rank": RANK, "approved": {"type": "integer", "minimum": 0},
                     "document_number": nullable({"type": "string"}), "effective_date": nullable(DATE)})
_PERSON = {"id_number": ID_NUMBER, "name": NAME, "gender": one_of("M", "F"), "birth_date": DATE,
           "education": nullable(EDUCATION)}
_PERSON_MORE = {"degree": {**nullable(DEGREE), "description": "full-time degree (全日制学位)"},
                "in_service_education": {**nullable(EDUCATION), "description": "在职教育学历"},
                "in_service_degree": {**nullable(DEGREE), "description": "在职教育学位"},
                "verified_name": nullable(NAME), "identity_status": nullable(one_of("ALIVE", "DECEASED", "CANCELLED")),
                "photo_sha256": nullable(SHA256)}
# person.updated: a verified identity's update (the staged police comparison's too) carries no degree fields
PERSON = data(_PERSON, _PERSON_MORE)
PERSON_CREATED = data(_PERSON | _PERSON_MORE)
FORM_NUMBER = {"type": "string", "pattern": "^(JB|JY|DD|ZS|YB)[0-9]{4}-[0-9]{6,}$",
               "description": "an approval form's number: kind prefix (JB onboarding, JY departure, DD transfer, "
                              "ZS leader appointment, YB hiring plan), year, serial"}
NONE = {"type": "null"}
ID = {"type": "integer", "minimum": 1}


def posting(*, form_number: dict, active: dict | None = None) -> dict:
    return data({"posting_id": ID, "id_number": ID_NUMBER, "unit_code": UNIT_CODE, "category": CATEGORY,
                 "leader_rank": nullable(RANK), "start_date": DATE, "end_date": nullable(DATE),
                 "end_reason": nullable({"type": "string"}), "active": active or {"type": "boolean"},
                 "form_number": form_number})


POSTING = posting(form_number={**nullable(FORM_NUMBER), "description": "the approval form the posting started or ended "
                               "by (进编审批表, 减员通知单, 调动审批表); null outside the workflows, e.g. hub import"})
MISMATCH = data({"mismatch_id": {"type": "string", "minLength": 1}, "kind": MISMATCH_KIND,
                 "class": {**one_of("WARNING", "DISCREPANCY"), "description": "WARNING: a management warning about the "
                           "registry itself (管理预警); DISCREPANCY: the registry and a partner disagree (比对疑点)"},
                 "status": one_of("OPEN", "RESOLVED"),
                 "subject": {"type": "string", "description": "ID number, or unit code for unit-level kinds"},
                 "unit_code": nullable(UNIT_CODE), "source": nullable({"type": "string"}), "detected_at": TIMESTAMP,
                 "resolved_at": nullable(TIMESTAMP), "details": {"type": "object", "description": "expected vs. found"},
                 "caused_by": {"type": "array", "items": {"type": "string"},
                               "description": "ids of the events (or runs) that raised or resolved it"}})
COUNT = {"type": "integer", "minimum": 0}
MISMATCH["allOf"] = [
    {"if": {"properties": {"kind": {"enum": list(WARNING_KINDS)}}},  # the class follows from the kind
     "then": {"properties": {"class": {"const": "WARNING"}}}, "else": {"properties": {"class": {"const": "DISCREPANCY"}}}},
    {"if": {"properties": {"kind": {"const": "HEADCOUNT_INCONSISTENT"}}},  # 三数一致, per period
     "then": {"properties": {"details": data(
         {"period": PERIOD, "approved": COUNT, "actual": COUNT,
          "paid": {**COUNT, "description": "establishment staff paid by finance (编内)"}},
         {"paid_non_establishment": {"type": "integer", "minimum": 1, "description": "registered non-establishment "
                                     "staff (编外) the unit pays, counted apart; absent when none"}})}}},
]
DEADLETTER = data({"reason": {"type": "string", "minLength": 1}, "topic": {"type": "string"},
                   "partition": {"type": "integer"}, "offset": {"type": "integer"}, "key": nullable({"type": "string"}),
                   "raw_base64": {"type": "string", "contentEncoding": "base64",
                                  "description": "the message value; its first KiB when raw_truncated"}},
                  {"connector": {"type": "string"},
                   "raw_size": {"type": "integer", "minimum": 0, "description": "bytes of the whole message value"},
                   "raw_sha256": SHA256 | {"description": "SHA-256 of the whole message value"},
                   "raw_truncated": {"type": "boolean",
                                     "description": "true: too large for the dead-letter topic, raw_base64 is its head"}})

# The workflows (contract section 9, docs/workflows.md).
APPLICATION_STATUS = ("IN_REVIEW", "RETURNED", "APPROVED", "REJECTED", "WITHDRAWN")
ROUTE = one_of("CIVIL_SERVICE_EXAM", "SELECTED_GRADUATE", "OPEN_SELECTION", "TRANSFER_IN", "OPEN_RECRUITMENT",
               "TALENT_INTRODUCTION", "MILITARY_TRANSFER", "POLICY_PLACEMENT")
FORM_KIND = one_of("ONBOARDING", "DEPARTURE", "TRANSFER", "LEADER_APPOINTMENT", "HIRING_PLAN")
DOCUMENT_KIND = one_of("COMMITTEE_MINUTES", "REPLY", "NOTICE", "DECISION", "APPOINTMENT", "OTHER")
TEXT = {"type": "string", "minLength": 1}


def onboarding(action: str, status: str, *, approved: bool = False) -> dict:
    """An onboarding application after a step: only the approval has a posting and a form."""
    return data({"onboarding_id": ID, "status": {"const": status}, "unit_code": UNIT_CODE, "id_number": ID_NUMBER,
                 "name": NAME, "category": CATEGORY, "route": ROUTE, "start_date": DATE,
                 "required_reviews": {"type": "array", "items": one_of("HR", "ORGANIZATION"), "minItems": 1,
                                      "uniqueItems": True, "description": "the departments that review (联审)"},
                 "round": {"type": "integer", "minimum": 1, "description": "1, plus one per resubmission"},
                 "hiring_plan_id": nullable(ID),
                 "posting_id": ID if approved else NONE, "form_number": FORM_NUMBER if approved else NONE,
                 "comment": {**nullable({"type": "string"}), "description": f"the comment of the {action} step"}})


def hiring_plan(status: str, *, approved: bool = False, decided: bool = False) -> dict:
    return data({"hiring_plan_id": ID, "unit_code": UNIT_CODE, "year": {"type": "integer", "minimum": 2000},
                 "category": CATEGORY, "slots": {"type": "integer", "minimum": 1},
                 "approved_slots": {"type": "integer", "minimum": 1} if approved else NONE,
                 "filled": {"type": "integer", "minimum": 0, "description": "hires made from the plan's slots"},
                 "reason": TEXT, "status": {"const": status},
                 "comment": nullable({"type": "string"}) if decided else NONE,
                 "form_number": FORM_NUMBER if approved else NONE,
                 "evaluation_id": {**nullable(ID), "description": "the annual evaluation result (年度评估) a cut cites "
                                   "(减少核定用编计划): approved slots below those asked, or a rejection"}
                 if decided else NONE})


def leader_appointment(stage: str, *, confirmed: bool = False) -> dict:
    fields = {"appointment_id": ID, "id_number": ID_NUMBER, "posting_id": ID, "unit_code": UNIT_CODE,
              "rank": {**nullable(RANK), "description": "null: removal from the leader position"},
              "effective_date": DATE, "document_number": {**TEXT, "maxLength": 100}, "stage": {"const": stage},
              "form_number": FORM_NUMBER if confirmed else NONE}
    if stage == "CANCELLED":
        fields["reason"] = {**TEXT, "description": "why the open appointment ended (its posting ended)"}
    return data(fields)


def freeze(frozen: bool) -> dict:
    return data({"unit_code": UNIT_CODE, "frozen": {"const": frozen},
                 "reason": TEXT if frozen else nullable({"type": "string"})})


FORM = data({"number": FORM_NUMBER, "kind": FORM_KIND, "unit_code": UNIT_CODE,
             "id_number": {**nullable(ID_NUMBER), "description": "null for a hiring plan's form"},
             "issued_at": TIMESTAMP})
DOCUMENT = data({"number": {**TEXT, "maxLength": 100}, "title": {**TEXT, "maxLength": 300},
                 "issuer": {**TEXT, "maxLength": 200}, "issued_on": DATE, "kind": DOCUMENT_KIND})
POLICY_OVERQUOTA = data({"decision_id": ID, "unit_code": UNIT_CODE, "category": CATEGORY,
                         "slots": {"type": "integer", "minimum": 1}, "document_number": {**TEXT, "maxLength": 100},
                         "deadline": {**DATE, "description": "the day by which the excess is to be absorbed (消化)"},
                         "reason": TEXT})

# Issue 19 (docs/domain.md): internal departments, non-establishment staff, flexible retirement decisions.
def department(active: bool) -> dict:
    return data({"department_id": ID, "unit_code": UNIT_CODE, "name": NAME,
                 "approved": {"type": "boolean", "description": "false: the unit's approval (三定) does not name it "
                              "(UNAPPROVED_DEPARTMENT)"},
                 "chief_positions": COUNT, "deputy_positions": COUNT,
                 "document_number": {**nullable({**TEXT, "maxLength": 100}), "description": "set when approved"},
                 "active": {"const": active}})


def non_establishment(active: bool) -> dict:
    return data({"entry_id": ID, "id_number": ID_NUMBER, "name": NAME, "unit_code": UNIT_CODE,
                 "kind": NON_ESTABLISHMENT_KIND, "start_date": DATE, "end_date": NONE if active else DATE,
                 "active": {"const": active}, "document_number": nullable({**TEXT, "maxLength": 100})})


RETIREMENT_DECISION = data({"id_number": ID_NUMBER, "kind": FLEXIBLE_RETIREMENT,
                            "retire_on": {**DATE, "description": "the decided date; replaces the statutory one"},
                            "statutory_date": DATE, "document_number": {**TEXT, "maxLength": 100}})

# Supervision findings (整改事项, contract section 11; docs/supervision.md). No ID numbers: persons linked as evidence
# are counted (person_count), and an ID number typed into a free text is replaced by [身份证号已隐去].
FINDING_CATEGORY = one_of("UNAUTHORIZED_INSTITUTION", "OVER_QUOTA_HIRING", "OVER_LEADER_POSITIONS", "MIXED_USE",
                          "UNAUTHORIZED_QUOTA_INCREASE", "FALSE_HEADCOUNT", "IRREGULAR_DEPARTMENTS",
                          "INSTITUTION_BEYOND_MANDATE", "GHOST_PAYROLL")
FINDING_STATUS = one_of("OPEN", "RECTIFYING", "VERIFIED", "CLOSED")
FINDING_EVIDENCE = {"type": "array", "description": "mismatch ids and document numbers (文号); never persons",
                    "items": data({"kind": one_of("MISMATCH", "DOCUMENT"), "ref": {**TEXT, "maxLength": 100}})}


def finding(status: dict, *, actions: tuple[str, ...], overdue: dict | None = None, closed: bool = False) -> dict:
    step = data({"action": one_of(*actions), "actor": TEXT, "role": {**TEXT, "description": "a token's role, or SYSTEM"},
                 "comment": nullable({"type": "string"}), "at": TIMESTAMP, "deadline_before": nullable(DATE),
                 "deadline_after": nullable(DATE), "evidence": FINDING_EVIDENCE, "person_count": COUNT})
    return data({"finding_id": ID, "unit_code": UNIT_CODE, "source": one_of("AUDIT", "INSPECTION", "HUB"),
                 "category": FINDING_CATEGORY, "category_label": TEXT, "status": status, "status_label": TEXT,
                 "title": TEXT, "description": TEXT, "reference": nullable({"type": "string", "maxLength": 100}),
                 "recommendation": TEXT, "recommendation_kind": nullable(one_of(
                     "RETURN_FUNCTIONS", "RESTRUCTURE", "ABSORB_EXCESS", "CORRECT_POSTINGS", "REDUCE_POSITIONS",
                     "ADJUST_DEPARTMENTS", "RECOVER_FUNDS", "OTHER")),
                 "responsible_party": TEXT, "deadline": {**DATE, "description": "整改期限, the office's local date"},
                 "overdue": overdue or {"type": "boolean", "description": "past the deadline and OPEN or RECTIFYING"},
                 "evidence": FINDING_EVIDENCE, "person_count": {**COUNT, "description": "persons linked as evidence"},
                 "recorded_at": TIMESTAMP, "verified_at": nullable(TIMESTAMP),
                 "closed_at": TIMESTAMP if closed else NONE, "step": step})


ONBOARDING_KEY, PLAN_KEY, APPOINTMENT_KEY = "onboarding-<id>", "hiring-plan-<id>", "leader-appointment-<id>"
# Outbound: what the hub publishes (type -> topic, key, subject, meaning, data schema).
OUTBOUND = {
    "gov.registry.unit.created": (UPDATES, "unit code", "unit code", "a unit was set up", UNIT),
    "gov.registry.unit.updated": (UPDATES, "unit code", "unit code", "a unit's details changed", UNIT),
    "gov.registry.unit.abolished": (UPDATES, "unit code", "unit code", "a unit was abolished", UNIT),
    "gov.registry.quota.changed": (UPDATES, "unit code", "unit code", "a unit's approved quota of a category", QUOTA),
    "gov.registry.leader_quota.changed": (UPDATES, "unit code", "unit code", "a unit's leadership positions of a rank", LEADER_QUOTA),
    "gov.registry.person.created": (UPDATES, "ID number", "ID number", "a person entered the registry", PERSON_CREATED),
    "gov.registry.person.updated": (UPDATES, "ID number", "ID number", "a person's data or police-verified identity changed", PERSON),
    "gov.registry.posting.started": (UPDATES, "posting id", "ID number", "a person took a quota slot", POSTING),
    "gov.registry.posting.ended": (UPDATES, "posting id", "ID number", "a person left a quota slot", POSTING),
    "gov.registry.mismatch.opened": (MISMATCHES, "mismatch id", "mismatch subject", "a mismatch was found", MISMATCH),
    "gov.registry.mismatch.updated": (MISMATCHES, "mismatch id", "mismatch subject", "an open mismatch's details changed", MISMATCH),
    "gov.registry.mismatch.resolved": (MISMATCHES, "mismatch id", "mismatch subject", "a mismatch no longer holds", MISMATCH),
    "gov.registry.deadletter": (DEAD, "the original key", "(none)", "an inbound message the hub rejected", DEADLETTER),
    # the workflows
    "gov.registry.onboarding.submitted": (UPDATES, ONBOARDING_KEY, "ID number", "a unit applied to post a person (用编进编)",
                                          onboarding("submission", "IN_REVIEW")),
    "gov.registry.onboarding.reviewed": (UPDATES, ONBOARDING_KEY, "ID number", "a required department approved its review",
                                         onboarding("review", "IN_REVIEW")),
    "gov.registry.onboarding.returned": (UPDATES, ONBOARDING_KEY, "ID number", "a reviewer returned the application to the unit",
                                         onboarding("return", "RETURNED")),
    "gov.registry.onboarding.resubmitted": (UPDATES, ONBOARDING_KEY, "ID number", "the unit corrected a returned application",
                                            onboarding("resubmission", "IN_REVIEW")),
    "gov.registry.onboarding.approved": (UPDATES, ONBOARDING_KEY, "ID number", "the office approved; the posting started",
                                         onboarding("approval", "APPROVED", approved=True)),
    "gov.registry.onboarding.rejected": (UPDATES, ONBOARDING_KEY, "ID number", "the office rejected the application",
                                         onboarding("rejection", "REJECTED")),
    "gov.registry.onboarding.withdrawn": (UPDATES, ONBOARDING_KEY, "ID number", "the unit withdrew the application",
                                          onboarding("withdrawal", "WITHDRAWN")),
    "gov.registry.hiring_plan.submitted": (UPDATES, PLAN_KEY, "unit code", "a unit asked for slots for a year (用编计划)",
                                           hiring_plan("IN_REVIEW")),
    "gov.registry.hiring_plan.approved": (UPDATES, PLAN_KEY, "unit code", "the office approved a plan; its slots are reserved",
                                          hiring_plan("APPROVED", approved=True, decided=True)),
    "gov.registry.hiring_plan.rejected": (UPDATES, PLAN_KEY, "unit code", "the office rejected a plan",
                                          hiring_plan("REJECTED", decided=True)),
    "gov.registry.form.issued": (UPDATES, "form number", "ID number, or unit code for a form without a person",
                                 "an approval form was issued (never its verification code)", FORM),
    "gov.registry.unit.frozen": (UPDATES, "unit code", "unit code", "the office froze a unit: no plans, no hires", freeze(True)),
    "gov.registry.unit.unfrozen": (UPDATES, "unit code", "unit code", "the office lifted a unit's freeze", freeze(False)),
    "gov.registry.leader_appointment.checked": (UPDATES, APPOINTMENT_KEY, "ID number",
                                                "the office checked the leader quota (核准)", leader_appointment("CHECKED")),
    "gov.registry.leader_appointment.decided": (UPDATES, APPOINTMENT_KEY, "ID number",
                                                "ORGANIZATION recorded the decision (任免)", leader_appointment("DECIDED")),
    "gov.registry.leader_appointment.confirmed": (UPDATES, APPOINTMENT_KEY, "ID number",
                                                  "the office confirmed the appointment (配备)",
                                                  leader_appointment("CONFIRMED", confirmed=True)),
    "gov.registry.leader_appointment.cancelled": (UPDATES, APPOINTMENT_KEY, "ID number",
                                                  "an open appointment (核准 or 任免, not confirmed) ended with its posting",
                                                  leader_appointment("CANCELLED")),
    "gov.registry.posting.updated": (UPDATES, "posting id", "ID number", "a confirmed appointment changed an active posting's "
                                     "leader rank", posting(form_number=FORM_NUMBER, active={"const": True})),
    "gov.registry.document.recorded": (UPDATES, "document number", "document number",
                                       "the office registered a document (文号)", DOCUMENT),
    "gov.registry.policy_overquota.allowed": (UPDATES, "unit code", "unit code", "the office allowed policy placements "
                                              "above a unit's quota until a deadline (政策性超编)", POLICY_OVERQUOTA),
    # the domain model (issue 19, docs/domain.md)
    "gov.registry.department.set_up": (UPDATES, "unit code", "unit code", "an internal department (内设机构) was set up",
                                       department(True)),
    "gov.registry.department.abolished": (UPDATES, "unit code", "unit code", "an internal department was abolished",
                                          department(False)),
    "gov.registry.non_establishment.recorded": (UPDATES, "ID number", "ID number", "a unit registered a person it employs "
                                                "and pays outside the establishment (编外人员)", non_establishment(True)),
    "gov.registry.non_establishment.ended": (UPDATES, "ID number", "ID number", "a non-establishment entry ended",
                                             non_establishment(False)),
    "gov.registry.retirement_decision.recorded": (UPDATES, "ID number", "ID number", "an approved flexible retirement "
                                                  "(弹性提前 / 弹性延迟退休) replaced the statutory date", RETIREMENT_DECISION),
    # supervision (contract section 11, docs/supervision.md)
    "gov.registry.finding.opened": (SUPERVISION, "finding id", "unit code", "a finding (整改事项) was recorded or raised by "
                                    "the hub", finding({"const": "OPEN"}, actions=("RECORDED",))),
    "gov.registry.finding.updated": (SUPERVISION, "finding id", "unit code", "a step on a finding: progress, verification, "
                                     "return to rectification, a new deadline", finding(
                                         one_of("RECTIFYING", "VERIFIED", "OPEN"),
                                         actions=("PROGRESS", "VERIFIED", "REOPENED", "DEADLINE_CHANGED"))),
    "gov.registry.finding.overdue": (SUPERVISION, "finding id", "unit code", "a finding passed its deadline unrectified "
                                     "(once per deadline)", finding(one_of("OPEN", "RECTIFYING"), actions=("OVERDUE",),
                                                                    overdue={"const": True})),
    "gov.registry.finding.closed": (SUPERVISION, "finding id", "unit code", "a verified finding was closed (销号)",
                                    finding({"const": "CLOSED"}, actions=("CLOSED",), closed=True)),
}


def envelope(type_: str, source: str | dict, data_schema: dict, *, inbound: bool) -> dict:
    props = {"specversion": {"const": "1.0"}, "id": {"type": "string", "minLength": 1, "maxLength": 200},
             "source": source, "type": {"const": type_}, "time": TIMESTAMP, "subject": {"type": "string"},
             "datacontenttype": {"const": "application/json"}, "data": data_schema}
    if inbound:
        props["sequence"] = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1,
                             "description": "increases per (source, subject); an older one is stale and changes nothing"}
    return {"type": "object", "required": ["specversion", "id", "source", "type", "data"] + ([] if inbound else ["time", "datacontenttype"]),
            "properties": props}


def schemas() -> dict[str, dict]:
    out = {}
    for type_, (dept, topic, meaning, d) in INBOUND.items():
        body = envelope(type_, {"type": "string", "description": f"the partner, e.g. /gov/{dept}"}, d, inbound=True)
        out[type_] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{type_}.schema.json",
                      "title": type_, "description": f"In on `{topic}` (key: the citizen ID number): {meaning}. "
                      "A CloudEvents 1.0 event in structured JSON mode (UTF-8).", **body}
    for type_, (topic, key, subject, meaning, d) in OUTBOUND.items():
        body = envelope(type_, {"const": "/gov/registry"}, d, inbound=False)
        out[type_] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{type_}.schema.json",
                      "title": type_, "description": f"Out on `{topic}` (key: {key}; subject: {subject}): {meaning}. "
                      "A CloudEvents 1.0 event in structured JSON mode (UTF-8).", **body}
    return out


def render(schema: dict) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for type_, schema in schemas().items():
        path = OUT / f"{type_}.schema.json"
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != render(schema):
                stale.append(path.name)
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(render(schema), encoding="utf-8")
    if stale:
        print("stale event schemas (run python scripts/export_event_schemas.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
