"""`hub finding …` and `hub supervision pack` (contract section 11; docs/supervision.md). Thin: parse flags, call the
service layer as the office (ADMIN, or --as AUDITOR), print. Registered on the `hub` app by hub/cli.py."""

from __future__ import annotations

import getpass
import json
from datetime import date
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hub.domain import supervision as sv

finding_app = typer.Typer(help="Findings of audits and inspections (整改事项: 审计, 巡察, 系统发现) tracked to closing (销号).",
                          no_args_is_help=True)
supervision_app = typer.Typer(help="Supervision (监督检查): the audit and inspection data pack.", no_args_is_help=True)

CATEGORIES = ", ".join(f"{c.value} {c.label}" for c in sv.FindingCategory)
ACTIONS = ", ".join(f"{a.value} {a.label}" for a in sv.StepAction if a in sv.UPDATE_ACTIONS)


console = Console()
err = Console(stderr=True)


def _settings(ctx: typer.Context):
    """The settings, with the root command's --database-url (read from the command's context: hub.cli may run as
    ``__main__``, so its module state is not necessarily this process's ``hub.cli``)."""
    from hub.config import load_settings

    return load_settings(database_url=ctx.find_root().params.get("database_url"))


def _db(ctx: typer.Context):
    from hub.bootstrap import database
    from hub.cli_files import relative_sqlite_note

    settings = _settings(ctx)
    note = relative_sqlite_note(settings.database_url)
    db = database(settings, run_migrations=True)
    if note:  # as hub.cli._db: a typo's empty database is not mistaken for the real one
        err.print(note, soft_wrap=True, highlight=False, markup=False)
    return db


def _caller(role: str):
    from hub.domain.vocabulary import Role
    from hub.domain.workflows import Caller

    r = Role.parse(role.upper(), "--as role")
    if r not in sv.SUPERVISORS:
        raise ValueError("--as must be ADMIN (the office) or AUDITOR")
    return Caller(name=f"cli:{getpass.getuser()}", role=r)


def _evidence(items: list[str]) -> tuple:
    out = []
    for item in items:
        kind, sep, ref = item.partition(":")
        if not sep:
            raise ValueError(f"--evidence {item!r} must be KIND:REF (PERSON:<ID number>, MISMATCH:<id>, DOCUMENT:<文号>)")
        out.append((kind.strip().upper(), ref.strip()))
    return tuple(out)


def _today() -> date:
    from hub.domain.calendar import office_today

    return office_today()


def _run(ctx: typer.Context, role: str, work):
    """``work(uow, caller)`` in one unit of work as the operator; a refusal is one line on stderr, nothing changed."""
    from hub.service_layer.unit_of_work import UnitOfWork

    caller = _caller(role)
    db = _db(ctx)
    try:
        with UnitOfWork(db, actor=caller.actor) as uow:
            row = work(uow, caller)
            uow.commit()
            return _as_dict(row, uow.session, _today())
    finally:
        db.dispose()


def _as_dict(row, session, today: date, steps=None) -> dict:
    st, cat = sv.FindingStatus(row.status), sv.FindingCategory(row.category)
    d = {"id": row.id, "unit_code": row.unit_code, "source": row.source, "category": row.category,
         "category_label": cat.label, "status": row.status, "status_label": st.label, "title": row.title,
         "description": row.description, "recommendation": row.recommendation,
         "recommendation_kind": row.recommendation_kind, "responsible_party": row.responsible_party,
         "deadline": row.deadline.isoformat(), "overdue": sv.is_overdue(st, row.deadline, today),
         "reference": row.reference, "evidence": json.loads(row.evidence), "recorded_at": row.recorded_at.isoformat()}
    if steps is not None:
        d["steps"] = [{"at": s.at.isoformat(), "action": s.action, "action_label": sv.StepAction(s.action).label,
                       "actor": s.actor, "role": s.role, "status": s.status_after, "comment": s.comment,
                       "deadline_after": s.deadline_after.isoformat() if s.deadline_after else None,
                       "evidence": json.loads(s.evidence)} for s in steps]
    return d


def _print_one(d: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(d, ensure_ascii=False, indent=1))
        return
    t = Table(title=f"整改事项 Finding {d['id']}", show_header=False)
    for k in ("unit_code", "source", "category_label", "status_label", "title", "description", "recommendation",
              "responsible_party", "deadline", "overdue", "reference"):
        t.add_row(k, escape(str(d[k])))
    console.print(t)
    if d.get("steps"):
        s = Table(title="整改过程 steps")
        for c in ("at", "action", "actor", "status", "comment"):
            s.add_column(c, overflow="fold")
        for st in d["steps"]:
            s.add_row(st["at"][:19], f"{st['action']} {st['action_label']}", escape(st["actor"]), st["status"],
                      escape(st["comment"] or ""))
        console.print(s)


@finding_app.command("record")
def record(ctx: typer.Context, unit: str = typer.Option(..., "--unit", help="The unit (unified social credit code)."),
           source: str = typer.Option(..., "--source", help="AUDIT 审计 or INSPECTION 巡察."),
           category: str = typer.Option(..., "--category", help=f"One of: {CATEGORIES}."),
           title: str = typer.Option(..., "--title", help="事项: one line."),
           description: str = typer.Option(..., "--description", help="情况: what was found."),
           recommendation: str = typer.Option(..., "--recommendation", help="整改建议 (e.g. 退还职能, 机构改革/重组)."),
           responsible: str = typer.Option(..., "--responsible", help="责任主体: who must rectify."),
           deadline: str = typer.Option(..., "--deadline", help="整改期限 YYYY-MM-DD (today or later)."),
           kind: Optional[str] = typer.Option(None, "--recommendation-kind", help=", ".join(
               f"{k.value} {k.label}" for k in sv.RecommendationKind) + "."),
           reference: Optional[str] = typer.Option(None, "--reference", help="The audit report's or inspection feedback's number."),
           evidence: list[str] = typer.Option([], "--evidence", help="KIND:REF, repeatable: PERSON:<ID number>, "
                                              "MISMATCH:<mismatch id>, DOCUMENT:<文号 of the register>."),
           as_role: str = typer.Option("ADMIN", "--as", help="ADMIN (the office) or AUDITOR."),
           as_json: bool = typer.Option(False, "--json", help="Print the finding as JSON.")):
    """Record a finding of an audit or inspection (登记整改事项); publishes gov.registry.finding.opened."""
    from hub.service_layer import findings

    new = findings.NewFinding(unit_code=unit, source=source, category=category, title=title, description=description,
                              recommendation=recommendation, responsible_party=responsible, deadline=_date(deadline),
                              recommendation_kind=kind, reference=reference, evidence=_evidence(evidence))
    _print_one(_run(ctx, as_role, lambda uow, c: findings.record_finding(uow, c, new)), as_json)


@finding_app.command("update")
def update(ctx: typer.Context, finding_id: str = typer.Argument(..., help="The finding's id."),
           action: str = typer.Option(..., "--action", help=f"One of: {ACTIONS}."),
           comment: Optional[str] = typer.Option(None, "--comment", help="What was done / why (needed for PROGRESS, REOPENED, DEADLINE_CHANGED)."),
           deadline: Optional[str] = typer.Option(None, "--deadline", help="The new deadline (DEADLINE_CHANGED)."),
           evidence: list[str] = typer.Option([], "--evidence", help="KIND:REF, repeatable (as for record)."),
           as_role: str = typer.Option("ADMIN", "--as", help="ADMIN (the office) or AUDITOR."),
           as_json: bool = typer.Option(False, "--json", help="Print the finding as JSON.")):
    """One step on a finding: progress (报告整改进展), verify (验收), reopen (退回整改), close (销号), new deadline."""
    from hub.service_layer import findings

    new_deadline = _date(deadline) if deadline else None
    _print_one(_run(ctx, as_role, lambda uow, c: findings.update_finding(
        uow, c, finding_id, action=action, comment=comment, evidence=_evidence(evidence), deadline=new_deadline)), as_json)


@finding_app.command("show")
def show(ctx: typer.Context, finding_id: str = typer.Argument(..., help="The finding's id."),
         as_json: bool = typer.Option(False, "--json", help="Print the finding and its steps as JSON.")):
    """A finding with its timeline (整改过程)."""
    from hub.service_layer import findings

    db = _db(ctx)
    try:
        with db.read_session() as s:
            row = findings.finding_for(s, _caller("ADMIN"), finding_id)
            d = _as_dict(row, s, _today(), steps=findings.steps_of(s, [row.id])[row.id])
    finally:
        db.dispose()
    _print_one(d, as_json)


@finding_app.command("list")
def list_findings(ctx: typer.Context, unit: Optional[str] = typer.Option(None, "--unit", help="Only this unit."),
                  region: Optional[str] = typer.Option(None, "--region", help="Only units of this six-digit division code."),
                  category: Optional[str] = typer.Option(None, "--category", help=f"One of: {CATEGORIES}."),
                  status: Optional[str] = typer.Option(None, "--status", help="OPEN 待整改, RECTIFYING 整改中, VERIFIED 已验收, CLOSED 已销号."),
                  source: Optional[str] = typer.Option(None, "--source", help="AUDIT 审计, INSPECTION 巡察, HUB 系统发现."),
                  overdue: bool = typer.Option(False, "--overdue", help="Only overdue findings (逾期)."),
                  limit: int = typer.Option(200, "--limit", min=1, max=10000, help="At most this many, newest first."),
                  as_json: bool = typer.Option(False, "--json", help="Print as JSON.")):
    """List findings (整改事项), newest first."""
    from hub.adapters.orm import FindingRow
    from hub.service_layer import findings

    today = _today()
    q = findings.select_findings(_caller("ADMIN"), findings.FindingQuery(
        unit_code=unit, region_code=region, category=category, status=status, source=source,
        overdue=True if overdue else None), today)
    db = _db(ctx)
    try:
        with db.read_session() as s:
            rows = [_as_dict(r, s, today) for r in s.execute(q.order_by(FindingRow.id.desc()).limit(limit)).scalars()]
    finally:
        db.dispose()
    _print_list(rows, as_json, "整改事项 Findings")


def _print_list(rows: list[dict], as_json: bool, title: str) -> None:
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    t = Table(title=f"{title} ({len(rows)})")
    for c in ("id", "unit", "category", "status", "deadline", "overdue", "title"):
        t.add_column(c, overflow="fold")
    for d in rows:
        t.add_row(str(d["id"]), d["unit_code"], d["category_label"], d["status_label"], d["deadline"],
                  "逾期" if d["overdue"] else "", escape(d["title"]))
    console.print(t)


@finding_app.command("overdue")
def overdue(ctx: typer.Context, today: Optional[str] = typer.Option(None, "--today", help="Check as of this date, not after today (default: today, the office's date)."),
            as_json: bool = typer.Option(False, "--json", help="Print as JSON.")):
    """Raise gov.registry.finding.overdue once for each finding past its deadline (逾期未整改), as the daily checks do, and list every overdue finding."""
    from hub.adapters.orm import FindingRow
    from hub.service_layer import findings
    from hub.service_layer.unit_of_work import UnitOfWork

    day = _date(today) if today else _today()
    if day > _today():  # an event raised early would not be raised again when the day comes
        raise ValueError(f"--today {day} is after today ({_today()}): overdue events are raised only for days that came")
    db = _db(ctx)
    try:
        with UnitOfWork(db, actor=f"cli:{getpass.getuser()}") as uow:
            raised = [r.id for r in findings.raise_overdue(uow, day)]
            uow.commit()
        q = findings.select_findings(_caller("ADMIN"), findings.FindingQuery(overdue=True), day)
        with db.read_session() as s:
            rows = [_as_dict(r, s, day) for r in s.execute(q.order_by(FindingRow.deadline, FindingRow.id)).scalars()]
    finally:
        db.dispose()
    if as_json:
        print(json.dumps({"raised": raised, "overdue": rows}, ensure_ascii=False, indent=1))
        return
    err.print(f"overdue events raised now: {len(raised)}")
    _print_list(rows, False, "逾期整改事项 Overdue findings")


@finding_app.command("check")
def check(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print as JSON.")):
    """Run the supervision checks of the daily round now: the hub's own findings (系统发现: 混编混岗, policy over-quota past its deadline) and the overdue events."""
    from hub.service_layer.daily import run_supervision_checks

    db = _db(ctx)
    try:
        opened, raised = run_supervision_checks(db, today=_today())
    finally:
        db.dispose()
    out = {"opened": opened, "overdue": raised}
    if as_json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        console.print(f"findings opened by the hub: {len(opened)}; overdue events raised: {len(raised)}")


@supervision_app.command("pack")
def pack(ctx: typer.Context, unit: Optional[str] = typer.Option(None, "--unit", help="One unit (unified social credit code)."),
         region: Optional[str] = typer.Option(None, "--region", help="Every unit of this district (six-digit division code)."),
         purpose: str = typer.Option(..., "--for", help="audit (审计事前参考数据) or inspection (巡察参考数据)."),
         fmt: str = typer.Option(..., "--format", help="html or xlsx."),
         out: Path = typer.Option(..., "--out", help="The file to write.")):
    """The data pack an audit or inspection team gets beforehand (事前提供参考数据): ledger, history, documents, staff, open mismatches, findings and their rectification steps — one XLSX workbook or one printable HTML document."""
    from hub.adapters.calendar_file import load_calendar
    from hub.api.access import write_reads
    from hub.domain.vocabulary import Role
    from hub.reports import render
    from hub.reports.audit_pack import build_pack
    from hub.service_layer.tokens import Principal

    if fmt not in ("html", "xlsx"):
        raise ValueError(f"--format must be html or xlsx, not {fmt!r}")
    if purpose not in ("audit", "inspection"):
        raise ValueError(f"--for must be audit or inspection, not {purpose!r}")
    from hub.cli_files import StagedFile, check_out_file

    check_out_file(out)  # before the pack is built: its person reads are logged
    settings = _settings(ctx)
    db = _db(ctx)
    today = _today()
    operator = f"cli:{getpass.getuser()}"
    staged = None
    try:
        with db.read_session() as s:
            p = build_pack(s, caller=_caller("ADMIN"), unit=unit, region=region, purpose=purpose, today=today,
                           calendar=load_calendar(settings.calendar_file))
        # written whole before the reads are logged, named after them (hub/cli_files.py): a full disk or a Ctrl-C
        # leaves no reads for a pack nobody got, and no cut-off file
        staged = StagedFile(out, render.to_xlsx(p.tables) if fmt == "xlsx" else render.to_html_book(
            p.title, p.tables, office=settings.office_name, generated_on=today).encode("utf-8"))
        if p.person_reads:  # the pack shows persons: the access log says who took them, for what
            write_reads(db, principal=Principal(token_id=None, name=operator, role=Role.ADMIN),
                        reads=[(i, "hub supervision pack", "Report.supervision-pack", f"{purpose} data pack", None)
                               for i in p.person_reads])
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    finally:
        db.dispose()
    staged.publish()
    err.print(f"wrote {p.title}: {len(p.tables)} tables, {sum(len(t.rows) for t in p.tables)} rows to {out}")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date YYYY-MM-DD") from None
