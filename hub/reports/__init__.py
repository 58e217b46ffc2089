"""The report catalogue (统计报表, issue 16, contract section 10): one module per report, listed in MODULES in the
order docs/reports.md lists them. ``catalogue()`` maps name → Report; ``run_report`` runs one for a caller."""

from __future__ import annotations

import importlib
from functools import cache

from hub.reports.base import Caller, Report, ReportError, ReportForbidden, ReportTable, run

MODULES = (
    "quota_use",
    "over_quota",
    "leader_positions",
    "headcount_consistency",
    "establishment_ledger",
    "region_summary",
    "age_structure",
    "age_pyramid",
    "retirements_due",
    "staff_changes",
    "education_structure",
    "gender_structure",
    "leaders_profile",
    "rank_structure",
    "onboarding_turnaround",
    "open_mismatches",
    "mismatch_trend",
    "ghost_pay",
    "unit_history",
    "quota_changes",
    "units_by_kind",
    "feed_health",
    "read_access",
    "hiring_plans",
    "annual_report",
    "annual_staff",
    "findings_by_category",
    "rectification_rate",
    "scorecards",
    "scorecard_offices",
    "scorecard_trend",
    "evaluation_league",
    "evaluation_report",
    "absorption_ledger",
)


@cache
def catalogue() -> dict[str, Report]:
    out: dict[str, Report] = {}
    for m in MODULES:
        report = importlib.import_module(f"hub.reports.{m}").REPORT
        assert report.name not in out, report.name
        out[report.name] = report
    return out


def get(name: str) -> Report:
    report = catalogue().get((name or "").strip())
    if report is None:
        raise ReportError(f"no report named {name!r} (reports: {', '.join(catalogue())})")
    return report


def run_report(db, name: str, params: dict | None, *, caller: Caller, today=None,
               calendar=None) -> tuple[ReportTable, list[str]]:
    """Run the report named ``name`` on a read session of ``db``: (table, ID numbers shown unmasked)."""
    report = get(name)
    with db.read_session() as s:
        return run(report, s, params, caller=caller, today=today, calendar=calendar)


def run_workbook(db, name: str, params: dict | None, *, caller: Caller, today=None, calendar=None,
                 companions: bool = True) -> tuple[list[ReportTable], list[str]]:
    """The report and the companions it names (``Report.workbook``), for one XLSX workbook; a companion the caller
    may not read is left out."""
    report = get(name)
    tables, reads = [], []
    with db.read_session() as s:
        for r in (report, *(get(n) for n in report.workbook if companions)):
            if r is not report and caller.role not in r.roles:
                continue
            t, rd = run(r, s, params, caller=caller, today=today, calendar=calendar)
            tables.append(t)
            reads += rd
    return tables, reads


__all__ = ["Caller", "Report", "ReportError", "ReportForbidden", "ReportTable", "catalogue", "get", "run", "run_report", "run_workbook"]
