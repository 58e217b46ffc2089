"""`hub evaluation` and `hub absorption` (issue 17): the office's annual evaluation and over-quota absorption plans at
the command line, as the city office (ADMIN, logged as ``ADMIN:cli:<user>``). The same service layer as the GraphQL
mutations; reports (`hub report scorecards`, `evaluation-league`, `evaluation-report`, `absorption-ledger`) read them."""

from __future__ import annotations

import getpass
import json
from datetime import date
from typing import Optional

import typer

evaluation_app = typer.Typer(help="The annual evaluation (年度评估): indicators, scores, decisions.", no_args_is_help=True)
absorption_app = typer.Typer(help="Over-quota absorption plans (超编消化计划).", no_args_is_help=True)
_cli: dict = {}  # the `hub` command's database opener, one-line failure and settings (``use``)


def use(*, db, fail, settings) -> None:
    """Wire the commands to the running `hub` command's options (hub/cli.py calls it once)."""
    _cli.update(db=db, fail=fail, settings=settings)


def _operator():
    from hub.domain.vocabulary import Role
    from hub.domain.workflows import Caller

    return Caller(name=f"cli:{getpass.getuser()}", role=Role.ADMIN)


def _run(work):
    """Run ``work(uow, caller)`` in one unit of work; an expected refusal is one line and exit code 1."""
    from hub.service_layer.unit_of_work import UnitOfWork

    c = _operator()
    db = _cli["db"]()
    try:
        with UnitOfWork(db, actor=c.actor) as uow:
            out = work(uow, c)
            uow.commit()
            return out
    except ValueError as e:  # every domain refusal
        _cli["fail"](str(e))
    finally:
        db.dispose()


def _calendar():
    from hub.adapters.calendar_file import load_calendar

    return load_calendar(_cli["settings"]().calendar_file)


@evaluation_app.command("indicator")
def indicator(year: int = typer.Option(..., "--year", help="The evaluation year."),
              code: str = typer.Option(..., "--code", help="Indicator code, e.g. REFORM (capital letters, digits, _)."),
              name: str = typer.Option(..., "--name", help="Its name, e.g. 年度重点改革任务."),
              max_score: int = typer.Option(..., "--max", help="Maximum points, 1–100."),
              scored_by: str = typer.Option("ADMIN", "--scored-by", help="ADMIN, ORGANIZATION or FINANCE.")):
    """Set a dynamic indicator (动态指标) of a year."""
    from hub.service_layer import evaluation

    row = _run(lambda uow, c: evaluation.indicator_data(evaluation.define_indicator(
        uow, c, year=year, code=code, name=name, max_score=max_score, scored_by=scored_by.strip().upper())))
    print(json.dumps(row, ensure_ascii=False))


@evaluation_app.command("score")
def score(indicator_id: str = typer.Option(..., "--indicator", help="The indicator's id (`hub evaluation indicator` printed it)."),
          unit: str = typer.Option(..., "--unit", help="Unit code."),
          points: float = typer.Option(..., "--score", help="Points, 0 to the indicator's maximum (e.g. 8.5)."),
          comment: Optional[str] = typer.Option(None, "--comment", help="The evaluation group's comment.")):
    """Score a unit on a dynamic indicator (again: replaces the score)."""
    from hub.service_layer import evaluation

    _run(lambda uow, c: evaluation.enter_score(uow, c, indicator_id=indicator_id, unit_code=unit, score=points,
                                               comment=comment))
    print(f"scored {unit} on indicator {indicator_id}: {points}")


@evaluation_app.command("decide")
def decide(unit: str = typer.Option(..., "--unit", help="Unit code."),
           year: int = typer.Option(..., "--year", help="The evaluation year."),
           comment: Optional[str] = typer.Option(None, "--comment", help="The office's comment.")):
    """Decide a unit's evaluation of a year (every dynamic indicator scored); prints the result as JSON."""
    from hub.service_layer import evaluation

    cal = _calendar()
    out = _run(lambda uow, c: evaluation.result_data(evaluation.decide(uow, c, unit_code=unit, year=year,
                                                                      comment=comment, calendar=cal)))
    print(json.dumps(out, ensure_ascii=False, indent=1))


def _target(text: str) -> tuple[date, int]:
    d, sep, n = text.partition("=")
    try:
        return date.fromisoformat(d.strip()), int(n)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: a target is DATE=REMAINING, e.g. 2026-12-31=1") from None


@absorption_app.command("plan")
def plan(unit: str = typer.Option(..., "--unit", help="Unit code."),
         category: str = typer.Option(..., "--category", help="Quota category (ADMINISTRATIVE, …)."),
         target: list[str] = typer.Option(..., "--target", help="DATE=REMAINING, repeatable: by DATE at most REMAINING above quota."),
         note: Optional[str] = typer.Option(None, "--note", help="A note (e.g. 自然减员消化).")):
    """Enter or replace the plan to absorb a unit's excess in a category (超编消化计划)."""
    from hub.service_layer import absorption

    targets = [_target(t) for t in target]
    rows = _run(lambda uow, c: [(r.target_date.isoformat(), r.remaining, r.baseline) for r in absorption.set_plan(
        uow, c, unit_code=unit, category=category.strip().upper(), targets=targets, note=note)])
    print(f"plan of {unit} {category.strip().upper()}: excess {rows[0][2]} now; "
          + ", ".join(f"{d}: at most {n}" for d, n, _ in rows))
