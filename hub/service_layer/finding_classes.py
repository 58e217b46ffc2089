"""Which of many re-checked persons can have person-level findings — without running the rules on each of them.

A monthly snapshot changes the partner view of nearly every person, so ``reconcile_persons`` would load and judge
200,000 persons one by one. Nearly all of them look alike: registered, one posting, every partner agreeing on
name and unit. This module groups the persons by a *signature* computed in PostgreSQL — their registry and partner
data with the registry's own name written ``N`` and the posting's unit written ``U`` (other values as they are) —
and runs the one rule set, ``person_findings``, on one representative per signature. Persons whose
representative has no finding (and who have no open finding to resolve) need nothing; the rest go through
``reconcile_persons`` as usual.

Why a representative speaks for its class: two persons with the same signature differ only by an injective
renaming of the registry name and the posting unit (the signature keeps the registry name itself whenever some
partner name is not byte-equal to it, so name comparisons — whitespace-insensitive in ``person_findings`` — come
out the same), and the rules only compare units for equality and names with each other; statuses, periods,
funding and paid flags are kept as they are. tests/integration/test_compare_staged.py checks this on generated
data by judging every member of every class.
"""

from __future__ import annotations

from sqlalchemy import text

from hub.domain.reconciliation import PERSON_STREAMING_KINDS, person_findings
from hub.service_layer.unit_of_work import UnitOfWork

PERSONS = "snapshot_changed"  # temp table (id_number) of the persons to re-check, filled by the caller
CLASSES = "snapshot_classes"

_SIGNATURES = f"""
CREATE TEMP TABLE {CLASSES} ON COMMIT DROP AS
WITH g AS (
    SELECT c.id_number, pe.name AS rname, po.unit_code AS punit, u.funding, count(p.id_number) AS lines,
           coalesce(bool_or(p.unit_code IS DISTINCT FROM po.unit_code
                            OR (p.name IS NOT NULL AND p.name IS DISTINCT FROM pe.name)), false) AS x,
           sum(hashtext(p.period || CASE WHEN p.name IS NULL THEN '-' ELSE 'N' END || p.paid::text)::bigint) AS h1,
           sum(hashtext(p.paid::text || '#' || p.period || CASE WHEN p.name IS NULL THEN '-' ELSE 'N' END)::bigint) AS h2,
           min(p.period) AS first_period, max(p.period) AS last_period
    FROM {PERSONS} c
    LEFT JOIN persons pe ON pe.id_number = c.id_number
    LEFT JOIN postings po ON po.id_number = c.id_number AND po.active
    LEFT JOIN units u ON u.code = po.unit_code
    LEFT JOIN partner_payroll p ON p.id_number = c.id_number
    GROUP BY c.id_number, pe.name, po.unit_code, u.funding
)
SELECT g.id_number, concat_ws('|',
    CASE WHEN g.x
              OR (pol.id_number IS NOT NULL AND (g.rname IS NULL OR pol.name IS DISTINCT FROM g.rname))
              OR (hr.id_number IS NOT NULL AND (g.rname IS NULL OR g.punit IS NULL OR hr.name IS DISTINCT FROM g.rname
                                                OR hr.unit_code IS DISTINCT FROM g.punit))
              OR (ins.id_number IS NOT NULL AND (ins.employer_code IS DISTINCT FROM g.punit
                                                 OR (ins.name IS NOT NULL AND ins.name IS DISTINCT FROM g.rname)))
         THEN 'X' ELSE '' END,
    g.rname IS NULL, g.punit IS NULL, coalesce(g.funding, '-'), coalesce(pol.status, '-'), coalesce(hr.status, '-'),
    CASE WHEN ins.id_number IS NULL THEN '-' ELSE concat_ws(',', ins.period, ins.status, ins.name IS NULL) END,
    g.lines, g.h1, g.h2, g.first_period, g.last_period
) AS signature
FROM g
LEFT JOIN partner_identity pol ON pol.id_number = g.id_number
LEFT JOIN partner_employment hr ON hr.id_number = g.id_number
LEFT JOIN partner_insurance ins ON ins.id_number = g.id_number
"""


def persons_to_judge(uow: UnitOfWork) -> list[str]:
    """Of the persons in the temp table ``snapshot_changed``: those whose person-level findings may be non-empty
    or who have an open person-level finding. PostgreSQL only (the caller stages the snapshot there)."""
    from hub.service_layer.reconcile import load_views

    s = uow.session
    s.execute(text(f"DROP TABLE IF EXISTS {CLASSES}"))
    s.execute(text(_SIGNATURES))
    reps = dict(s.execute(text(
        f"SELECT min(id_number), signature FROM {CLASSES} WHERE signature NOT LIKE '%X%' GROUP BY signature")).all())
    reg, views = load_views(uow, sorted(reps))
    flagged = [sig for rep, sig in reps.items() if person_findings(reg[rep], views[rep])]
    judge = set(s.execute(text(f"SELECT id_number FROM {CLASSES} WHERE signature = ANY(:sigs) OR signature LIKE '%X%'"),
                          {"sigs": flagged}).scalars())
    judge.update(s.execute(text(
        f"SELECT DISTINCT m.subject FROM mismatches m JOIN {PERSONS} c ON c.id_number = m.subject"
        " WHERE m.status = 'OPEN' AND m.kind = ANY(:kinds)"), {"kinds": [k.value for k in PERSON_STREAMING_KINDS]}).scalars())
    return sorted(judge)


def class_count(uow: UnitOfWork) -> int:
    return uow.session.execute(text(f"SELECT count(DISTINCT signature) FROM {CLASSES}")).scalar_one()
