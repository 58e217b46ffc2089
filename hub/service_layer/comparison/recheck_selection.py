"""Who to re-check after a snapshot: of many changed persons, those who can have person-level findings — found
without running the rules on each of them.

A monthly snapshot changes the partner view of nearly every person, so ``reconcile_persons`` would load and judge
200,000 persons one by one. Nearly all of them look alike: registered, one posting, every partner agreeing on
name and unit. This module gives each person a *signature* computed in PostgreSQL and runs the one rule set,
``person_findings``, on one representative per signature. Persons whose representative has no finding (and who
have no open finding to resolve) need nothing; the rest go through ``reconcile_persons`` as usual.

The signature keeps what the rules may look at, with the person's own registry name and posting unit abstracted:
whether the person is registered and posted, the unit's funding, the posting's leader rank with HR's rank when
both are there (the rules compare them), each partner's presence and statuses, the
insurance period, and the pay lines as a multiset of (period, name given or not, paid) — summarised by their count,
first and last period and two independent 32-bit hash sums (order-free; a collision needs two different line sets
of one class to agree on all five, about 2^-64). Any partner name or unit that differs from the registry's makes
the signature hold an ``X``: such persons are always judged one by one, so names are only ever compared with the
registry's own (byte-equal, hence equal for ``person_findings``'s whitespace-insensitive comparison too) and units
only for equality with the posting. Two persons with one signature therefore differ only by a renaming the rules
cannot see. tests/integration/test_compare_staged.py judges every member of every class to check it.
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import text

from hub.domain.reconciliation import PERSON_STREAMING_KINDS, person_findings
from hub.service_layer.reconcile import load_views, person_view_joins
from hub.service_layer.unit_of_work import UnitOfWork

CLASSES_FROM = 1000  # re-checking more persons than this: judge signature classes first
PERSONS = "snapshot_changed"  # temp table (id_number) of the persons to re-check, filled by the caller
CLASSES = "snapshot_classes"

# The pay lines are summarised per person on their own (only the persons' lines, one hash aggregate), then every
# view is joined by hash: no sort or grouping of the wide joined rows. A line differs from the registry when its unit
# is not the posting's or its name (when it has one) is not the registry's: with the lowest and highest unit and name
# of a person's lines, every line agrees exactly when both agree. (One active posting per person is a unique index,
# so each person has one row.)
_SIGNATURES = f"""
CREATE TEMP TABLE {CLASSES} ON COMMIT DROP AS
WITH pay AS (
    SELECT p.id_number, count(*) AS lines, min(p.unit_code) AS unit_lo, max(p.unit_code) AS unit_hi,
           min(p.name) AS name_lo, max(p.name) AS name_hi,
           sum(hashtext(p.period || CASE WHEN p.name IS NULL THEN '-' ELSE 'N' END || p.paid::text)::bigint) AS h1,
           sum(hashtext(p.paid::text || '#' || p.period || CASE WHEN p.name IS NULL THEN '-' ELSE 'N' END)::bigint) AS h2,
           min(p.period) AS first_period, max(p.period) AS last_period
    FROM partner_payroll p
    WHERE p.id_number IN (SELECT id_number FROM {PERSONS})
    GROUP BY p.id_number
)
SELECT c.id_number, concat_ws('|',
    CASE WHEN (pay.lines IS NOT NULL AND (pay.unit_lo IS DISTINCT FROM po.unit_code OR pay.unit_hi IS DISTINCT FROM po.unit_code
                                          OR (pay.name_lo IS NOT NULL AND (pay.name_lo IS DISTINCT FROM pe.name
                                                                           OR pay.name_hi IS DISTINCT FROM pe.name))))
              OR (pol.id_number IS NOT NULL AND (pe.name IS NULL OR pol.name IS DISTINCT FROM pe.name))
              OR (hr.id_number IS NOT NULL AND (pe.name IS NULL OR po.unit_code IS NULL OR hr.name IS DISTINCT FROM pe.name
                                                OR hr.unit_code IS DISTINCT FROM po.unit_code))
              OR (ins.id_number IS NOT NULL AND (ins.employer_code IS DISTINCT FROM po.unit_code
                                                 OR (ins.name IS NOT NULL AND ins.name IS DISTINCT FROM pe.name)))
         THEN 'X' ELSE '' END,
    pe.name IS NULL, po.unit_code IS NULL, coalesce(u.funding, '-'), coalesce(pol.status, '-'), coalesce(hr.status, '-'),
    CASE WHEN po.leader_rank IS NULL OR hr.rank IS NULL THEN '-' ELSE po.leader_rank || '/' || hr.rank END,
    CASE WHEN ins.id_number IS NULL THEN '-' ELSE concat_ws(',', ins.period, ins.status, ins.name IS NULL) END,
    coalesce(pay.lines, 0), pay.h1, pay.h2, pay.first_period, pay.last_period
) AS signature
FROM {PERSONS} c
LEFT JOIN persons pe ON pe.id_number = c.id_number
LEFT JOIN postings po ON po.id_number = c.id_number AND po.active
LEFT JOIN units u ON u.code = po.unit_code
LEFT JOIN pay ON pay.id_number = c.id_number
LEFT JOIN partner_identity pol ON pol.id_number = c.id_number
LEFT JOIN partner_employment hr ON hr.id_number = c.id_number
LEFT JOIN partner_insurance ins ON ins.id_number = c.id_number
"""


def select_changed_for_recheck(uow: UnitOfWork) -> list[str]:
    """Of the persons in the temp table ``snapshot_changed``: those whose person-level findings may be non-empty
    or who have an open person-level finding. PostgreSQL only (the caller stages the snapshot there)."""
    s = uow.session
    s.execute(text(f"DROP TABLE IF EXISTS {CLASSES}"))
    s.execute(text(_SIGNATURES))
    reps = dict(s.execute(text(
        f"SELECT min(id_number), signature FROM {CLASSES} WHERE signature NOT LIKE '%X%' GROUP BY signature")).all())
    reg, views = load_views(uow, sorted(reps))
    flagged = [sig for rep, sig in reps.items() if person_findings(reg[rep], views[rep])]
    recheck = set(s.execute(text(f"SELECT id_number FROM {CLASSES} WHERE signature = ANY(:sigs) OR signature LIKE '%X%'"),
                          {"sigs": flagged}).scalars())
    recheck.update(s.execute(text(
        f"SELECT DISTINCT m.subject FROM mismatches m JOIN {PERSONS} c ON c.id_number = m.subject"
        " WHERE m.status = 'OPEN' AND m.kind = ANY(:kinds)"), {"kinds": [k.value for k in PERSON_STREAMING_KINDS]}).scalars())
    return sorted(recheck)


def select_for_recheck(uow: UnitOfWork, ids: set[str] | list[str]) -> list[str]:
    """``select_changed_for_recheck`` for a set of persons held in Python (PostgreSQL): the general compare path's many."""
    s = uow.session
    s.execute(text(f"DROP TABLE IF EXISTS {PERSONS}"))
    s.execute(text(f"CREATE TEMP TABLE {PERSONS} (id_number text PRIMARY KEY) ON COMMIT DROP"))
    s.execute(text(f"INSERT INTO {PERSONS} SELECT DISTINCT unnest(CAST(:ids AS text[]))"), {"ids": list(ids)})
    s.execute(text(f"ANALYZE {PERSONS}"))
    return select_changed_for_recheck(uow)


# The staged finance comparison knows each changed person's new pay lines: the rows of the staged snapshot. The
# rules read pay lines only through ``latest()`` — the lines of the person's latest period — so for a person paid
# in the compared period and in no later one those rows *are* the pay view the rules see, and the signature can be
# computed from the snapshot without aggregating the finance view. A person with a line of a later period keeps
# the latest lines they had, so the snapshot cannot change their findings: they are left out (judging all of them
# would be everyone once next month's lines are streamed before this month's snapshot), except those with an open
# finding, who are re-checked like every changed person with one. A row whose name or unit differs
# from the registry's anywhere is ``X`` and its person judged one by one — so is every person with several lines
# (different units: at most one is the posting unit); every other person is registered, posted, paid once by the
# posting unit under the registry name, and differs from others of their class by a renaming only. tests/integration/test_compare_staged.py judges every member of every class.
STAGED_SIGNATURES = """
CREATE TEMP TABLE {classes} ON COMMIT DROP AS
SELECT s.id_number,
       s.unit_code IS DISTINCT FROM po.unit_code OR s.name IS DISTINCT FROM pe.name
       OR (pol.id_number IS NOT NULL AND pol.name IS DISTINCT FROM pe.name)
       OR (hr.id_number IS NOT NULL AND (hr.name IS DISTINCT FROM pe.name OR hr.unit_code IS DISTINCT FROM po.unit_code))
       OR (ins.id_number IS NOT NULL AND (ins.employer_code IS DISTINCT FROM po.unit_code
                                          OR (ins.name IS NOT NULL AND ins.name IS DISTINCT FROM pe.name))) AS x,
       concat_ws('|', coalesce(u.funding, '-'), coalesce(pol.status, '-'), coalesce(hr.status, '-'),
                 CASE WHEN po.leader_rank IS NULL OR hr.rank IS NULL THEN '-' ELSE po.leader_rank || '/' || hr.rank END,
                 CASE WHEN ins.id_number IS NULL THEN '-' ELSE concat_ws(',', ins.period, ins.status, ins.name IS NULL) END
       ) AS signature
FROM {stage} s {changed}
{joins}{later}
"""
STAGED_JOINS = person_view_joins("s.id_number")
LATER = ("LEFT JOIN (SELECT DISTINCT id_number FROM partner_payroll WHERE period > :p) lt ON lt.id_number = s.id_number"
         " WHERE lt.id_number IS NULL")


@contextmanager
def both_cores(session):
    """Let the statements inside run in parallel workers: whole-snapshot joins over regular tables (the period's
    partition-to-be, the registry), where the workers' start-up is small next to the join. The planner's default
    costs keep them on one core; per-person lookups keep those defaults. (Temporary tables are never read in
    parallel.)"""
    session.execute(text("SET LOCAL parallel_setup_cost = 0"))
    session.execute(text("SET LOCAL parallel_tuple_cost = 0"))
    yield  # on an error the transaction is lost, and the settings with it: nothing to reset (it would mask the error)
    session.execute(text("SET LOCAL parallel_setup_cost = DEFAULT"))
    session.execute(text("SET LOCAL parallel_tuple_cost = DEFAULT"))


def select_staged_for_recheck(uow: UnitOfWork, *, stage: str, period: str, all_changed: bool) -> list[str]:
    """``select_changed_for_recheck`` for the staged finance comparison, from the snapshot's rows in ``stage`` (one per person
    and unit: duplicates are removed first).

    The changed persons are every person of ``stage`` when ``all_changed`` (the period had no lines before), else
    those in the temp table ``snapshot_changed`` — of which the ones without a row in ``stage`` (their lines of the
    period are gone) are all judged.
    """
    s = uow.session
    later = s.execute(text("SELECT EXISTS (SELECT 1 FROM partner_payroll WHERE period > :p)"), {"p": period}).scalar()
    s.execute(text(f"DROP TABLE IF EXISTS {CLASSES}"))
    with both_cores(s):
        s.execute(text(STAGED_SIGNATURES.format(
            classes=CLASSES, stage=stage, joins=STAGED_JOINS,
            changed="" if all_changed else f"JOIN {PERSONS} c ON c.id_number = s.id_number",
            later=LATER if later else "")), {"p": period})
    # A person with several lines has a row per line, at most one of them paid by the posting unit: the others are
    # X, and the person is judged one by one and represents no class.
    reps = dict(s.execute(text(f"SELECT min(id_number), signature FROM {CLASSES} WHERE NOT x GROUP BY signature")).all())
    taken = s.execute(text(f"SELECT DISTINCT id_number FROM {CLASSES} WHERE x AND id_number = ANY(:reps)"),
                      {"reps": list(reps)}).scalars().all()
    if taken:  # (rare) those classes' representatives are picked among their members without an X row
        lost = [reps.pop(rep) for rep in taken]
        reps.update(s.execute(text(
            f"SELECT min(id_number), signature FROM {CLASSES} c WHERE NOT x AND signature = ANY(:sigs)"
            f" AND NOT EXISTS (SELECT 1 FROM {CLASSES} o WHERE o.x AND o.id_number = c.id_number) GROUP BY signature"),
            {"sigs": lost}).all())
    reg, views = load_views(uow, sorted(reps))
    flagged = [sig for rep, sig in reps.items() if person_findings(reg[rep], views[rep])]
    recheck = set(s.execute(text(f"SELECT id_number FROM {CLASSES} WHERE x OR signature = ANY(:sigs)"),
                          {"sigs": flagged}).scalars())
    changed = stage if all_changed else PERSONS
    recheck.update(s.execute(text(
        f"SELECT m.subject FROM mismatches m WHERE m.status = 'OPEN' AND m.kind = ANY(:kinds)"
        f" AND EXISTS (SELECT 1 FROM {changed} c WHERE c.id_number = m.subject)"),
        {"kinds": [k.value for k in PERSON_STREAMING_KINDS]}).scalars())
    if not all_changed:  # their lines of the period are gone: what they are paid now is an older period's lines
        recheck.update(s.execute(text(
            f"SELECT c.id_number FROM {PERSONS} c WHERE NOT EXISTS (SELECT 1 FROM {stage} s WHERE s.id_number = c.id_number)"
        )).scalars())
    return sorted(recheck)
