"""The `hub` command (contract section 2). Thin: parse flags, call the service layer, print."""

from __future__ import annotations

import gc
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Optional

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from hub.config import Settings, load_settings


class _Commands(typer.core.TyperGroup):
    """The `hub` group: an expected failure of any command becomes one line on stderr and exit code 1 (``explain``)."""

    def invoke(self, ctx):
        _committed_then_interrupted.clear()  # one command's (in-process callers, the tests, run several)
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:  # Ctrl-C: typer would exit 130 without a word
            _say_error(_committed_then_interrupted[-1] if _committed_then_interrupted
                       else _INTERRUPTED.get(ctx.invoked_subcommand or "", _INTERRUPTED[""]))
            raise typer.Exit(130) from None
        except Exception as e:  # noqa: BLE001 - the expected ones are explained; anything else is a bug: traceback
            message = explain(e)
            if message is None:
                raise
            _say_error(message)
            raise typer.Exit(1) from None


# What Ctrl-C left behind, per command (`import` and `compare` are one transaction each).
_INTERRUPTED = {
    "import": "interrupted (Ctrl-C): nothing was imported (an import is all or nothing); run it again",
    "compare": "interrupted (Ctrl-C): the comparison's changes were not committed; run it again",
    "demo": "interrupted (Ctrl-C): the city stays if its import had finished, and the events streamed so far stay sent",
    "": "interrupted (Ctrl-C): stopped before the end; a change not yet committed was rolled back",
}
# What Ctrl-C leaves behind once a command's change is committed, said by the command at that moment (its rolled-back
# wording above would be false then: a PostgreSQL import's ANALYZE, after the commit, takes seconds).
_committed_then_interrupted: list[str] = []

app = typer.Typer(help="Real-name staffing registry hub (机构编制实名制数据交换中心).", no_args_is_help=True,
                  epilog="Settings are HUB_* environment variables (README, Configuration); unset, the hub keeps an "
                         "SQLite file in .hub-data/ and starts an embedded broker. Start with `hub up`; every command "
                         "has --help.",
                  pretty_exceptions_enable=False, add_completion=False, cls=_Commands)
token_app = typer.Typer(help="Partner bearer tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained operation log and access log (HMAC-signed with the audit key).", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
connector_app = typer.Typer(help="Department connectors (police, hr, finance, insurance).", no_args_is_help=True)
deadletter_app = typer.Typer(help="Inbound messages the hub rejected.", no_args_is_help=True)
app.add_typer(connector_app, name="connector")
app.add_typer(deadletter_app, name="deadletter")
outbox_app = typer.Typer(help="Outbound events the broker refused for good (too large, invalid), set aside by the relay.",
                         no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")
export_app = typer.Typer(help="Lists the registry gives to partners.", no_args_is_help=True)
app.add_typer(export_app, name="export")
from hub.cli_supervision import finding_app, supervision_app  # noqa: E402  (hub/cli_supervision.py)

app.add_typer(finding_app, name="finding")
app.add_typer(supervision_app, name="supervision")

console = Console()
err = Console(stderr=True)


class State:
    database_url: str | None = None

    def settings(self, **overrides) -> Settings:
        return load_settings(database_url=self.database_url, **overrides)


state = State()


@app.callback()
def main(database_url: Optional[str] = typer.Option(None, "--database-url", help="Override HUB_DATABASE_URL.")):
    state.database_url = database_url


def _db(run_migrations: bool = True):
    from hub.bootstrap import database
    from hub.cli_files import relative_sqlite_note

    settings = state.settings()
    note = relative_sqlite_note(settings.database_url)
    db = database(settings, run_migrations=run_migrations)
    if note:  # said once the database opened: a typo's empty database is not mistaken for the real one
        err.print(note, soft_wrap=True, highlight=False, markup=False)
    return db


def _say_error(message: str) -> None:
    from rich.markup import escape

    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)


def _fail(message: str, code: int = 1):
    _say_error(message)
    raise typer.Exit(code)


def _database_named() -> str:
    """The database a command used, as it may be shown (password masked)."""
    import os

    url = state.database_url or os.environ.get("HUB_DATABASE_URL")
    return _redact(url) if url else "the embedded SQLite file (HUB_DATA_DIR)"


def explain(e: BaseException) -> str | None:
    """The one place that words the failures users cause (what, where, what to do); None for a bug."""
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    from hub.adapters.embedded_broker import BrokerError, BrokerNotInstalled

    where = _database_named()
    fix = "fix HUB_DATABASE_URL or --database-url"
    if isinstance(e, NoSuchModuleError):
        scheme = str(e).rsplit(":", 1)[-1].strip() or "?"
        return f"database URL {where}: unknown scheme {scheme!r}; use postgresql://USER@HOST:PORT/DB or sqlite:///PATH ({fix})"
    if isinstance(e, ModuleNotFoundError) and "sqlalchemy" in _modules_of(e):
        return f"database URL {where}: no driver installed for it (module {e.name!r}); the hub speaks postgresql:// and sqlite:// ({fix})"
    if isinstance(e, ArgumentError):
        return f"database URL {where} is not a database URL; use postgresql://USER@HOST:PORT/DB or sqlite:///PATH ({fix})"
    if isinstance(e, DBAPIError) and _is_connect_error(e):
        reason = str(e.orig).strip().splitlines()[0] if e.orig else str(e).splitlines()[0]
        return (f"cannot open the database {where}: {reason}; check that the server runs on that host and port and that "
                f"the database exists (createdb), or {fix}")
    if isinstance(e, ValidationError) and e.title == "Settings":
        first = e.errors()[0]
        name = "HUB_" + str(first["loc"][0]).upper() if first["loc"] else "a HUB_ setting"
        return f"setting {name}={first.get('input')!r}: {first['msg']} (README, Configuration)"
    if isinstance(e, OSError) and getattr(e, "filename", None):
        what = {FileNotFoundError: "no such file or directory", PermissionError: "permission denied",
                IsADirectoryError: "is a directory", NotADirectoryError: "a part of the path is not a directory",
                FileExistsError: "exists and is not a directory"}
        return f"{e.filename}: {what.get(type(e), e.strerror or str(e))}; give a path that exists and that the hub may write/read"
    if isinstance(e, BrokerNotInstalled):
        return str(e)
    if isinstance(e, BrokerError):
        return f"{e}; set HUB_KAFKA_BOOTSTRAP_SERVERS to a running Kafka, or HUB_BROKER_PORT to a free port"
    if type(e).__module__.startswith("kafka") and type(e).__name__ in ("NoBrokersAvailable", "KafkaTimeoutError"):
        return (f"no Kafka broker answers ({str(e).split(': ', 1)[-1] or type(e).__name__}); start it or fix "
                "HUB_KAFKA_BOOTSTRAP_SERVERS (`hub demo`: --bootstrap)")
    if isinstance(e, ValidationError):
        from hub.contract.inbound import describe

        return f"{e.title}: {describe(e.errors()[0], 'value')}"
    if isinstance(e, ValueError):  # the service layer's refusals of bad input are ValueErrors worded for people
        return "; ".join(line.strip() for line in str(e).splitlines() if line.strip())
    return None


def _modules_of(e: BaseException) -> set[str]:
    """The top-level packages the exception's traceback passed through."""
    import traceback

    return {(f.filename.split("site-packages/", 1)[-1].split("/", 1)[0]) for f in traceback.extract_tb(e.__traceback__)}


def _is_connect_error(e) -> bool:
    """An error raised while connecting (not by a statement): OperationalError without a statement, or SQLite's."""
    from sqlalchemy.exc import OperationalError

    return isinstance(e, OperationalError) and (not e.statement or "unable to open database file" in str(e))


@app.command()
def migrate():
    """Bring the database schema up to date (Alembic)."""
    from hub.adapters.database import current_revision, migrate as do_migrate

    settings = state.settings()
    url = settings.effective_database_url()
    do_migrate(url)
    console.print(f"database at revision [bold]{current_revision(url)}[/]")


def _staged_progress(bar: Progress):
    """A progress callback (stage, done, total) that keeps one bar per stage."""
    tasks: dict[str, int] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total or None)
        bar.update(tasks[stage], completed=done, total=total or None)

    return progress


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _cell(value) -> Text:
    """Data shown in a table (names, partners' keys and reasons, rows of a file) as plain text: rich markup in it is
    not rendered and control characters are shown as ``\\xNN``, so nothing in the data reaches the terminal as an
    escape sequence (clearing the screen, hiding lines, writing the clipboard)."""
    text = "" if value is None else str(value)
    return Text(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text))


def _print_bad_rows(title: str, rows, columns=("line", "reason"), limit: int = 1000) -> None:
    t = Table(title=title)
    for c in columns:
        t.add_column(c, justify="right" if c == "line" else "left")
    for r in rows[:limit]:
        t.add_row(*(_cell(getattr(r, c)) for c in columns))
    err.print(t)
    if len(rows) > limit:
        err.print(f"… and {len(rows) - limit} more")


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=False, disable=not err.is_terminal)


@app.command("import")
def import_(directory: Path = typer.Argument(..., help="Folder with units.csv, quotas.csv, leader_quotas.csv, persons.csv, postings.csv."),
            as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")):
    """Bulk-load a registry from CSV files; all-or-nothing, with a row-numbered error report."""
    from hub.service_layer.importer import ImportRejected, import_registry

    if not directory.is_dir():
        _fail(f"{directory} is not a directory")
    db = _db()
    try:
        with _progress() as bar:
            report = import_registry(db, directory, progress=_staged_progress(bar), committed=lambda: _committed_then_interrupted.append(
                "interrupted (Ctrl-C) after the import was committed: the registry holds it; do not import these files again"))
    except ImportRejected as e:
        rep = e.report
        if as_json:
            print(json.dumps({"ok": False, "errors": [r.__dict__ for r in rep.errors]}, ensure_ascii=False, indent=1))
        elif len(rep.errors) == 1:  # one problem (a row, a header, a missing file): one line
            bad = rep.errors[0]
            _say_error(f"{bad.file}{f' line {bad.line}' if bad.line else ''}: {bad.reason}; nothing was imported")
        else:
            n = len(rep.errors)
            _print_bad_rows(f"{n} bad row{'s' if n != 1 else ''} — nothing was imported", rep.errors, ("file", "line", "reason"))
            # the verdict again below the table, where a long table leaves the reader
            _say_error(f"{n} bad row{'s' if n != 1 else ''} in {directory}: nothing was imported"
                       + (" (the first 1000 are listed above; --json lists all)" if n > 1000 else ""))
        raise typer.Exit(1)
    finally:
        db.dispose()
    if as_json:
        print(json.dumps({"ok": True, "counts": report.counts, "mismatches_opened": report.mismatches.opened,
                          "encodings": report.encodings}, ensure_ascii=False))
        return
    err.print("read " + ", ".join(f"{n} as {e}" for n, e in report.encodings.items()))
    t = Table(title="imported")
    t.add_column("what")
    t.add_column("rows", justify="right")
    for k, n in report.counts.items():
        t.add_row(k, str(n))
    for k, n in sorted(report.mismatches.opened.items()):
        t.add_row(f"mismatch opened: {k}", str(n))
    console.print(t)


@app.command()
def compare(file: Path = typer.Argument(..., help="The department's snapshot CSV (columns = its event's data fields)."),
            source: str = typer.Option(..., "--source", help="police, hr, finance or insurance."),
            period: str = typer.Option(..., "--period", help="YYYY-MM"),
            skip_bad_rows: bool = typer.Option(False, "--skip-bad-rows", help="List bad rows and apply the rest."),
            as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON.")):
    """Full comparison of a department's monthly snapshot against the registry (全库比对)."""
    from hub.service_layer.comparison.pipeline import run_compare
    from hub.service_layer.comparison.report import CompareRejected

    db = _db()
    try:
        with _progress() as bar:
            report = run_compare(db, source=source.lower(), period=period, path=file, skip_bad_rows=skip_bad_rows,
                                 progress=_staged_progress(bar))
        _committed_then_interrupted.append("interrupted (Ctrl-C) after the comparison was committed: its results stay")
    except CompareRejected as e:
        rep = e.report
        n = len(rep.bad_rows)
        if as_json:
            print(json.dumps({"ok": False, "errors": [{"line": r.line, "reason": r.reason} for r in rep.bad_rows]}, ensure_ascii=False, indent=1))
        elif n == 1:  # one problem: one line (a header's or the file's has no rest to apply)
            bad = rep.bad_rows[0]
            _say_error(f"{file.name} line {bad.line}: {bad.reason}; nothing was changed"
                       + (" (--skip-bad-rows applies the other rows)" if bad.line > 1 else ""))
        else:
            _print_bad_rows(f"{n} bad rows in {file.name} — nothing was changed (use --skip-bad-rows to apply the rest)", rep.bad_rows)
            _say_error(f"{n} bad rows in {file.name}: nothing was changed (--skip-bad-rows applies the other rows)"
                       + (" (the first 1000 are listed above; --json lists all)" if n > 1000 else ""))
        raise typer.Exit(1)
    except ValueError as e:
        _fail(str(e))
    finally:
        db.dispose()
    summary = report.summary()
    if as_json:
        print(json.dumps({"ok": True, **summary, "skipped_rows": [{"line": r.line, "reason": r.reason} for r in report.bad_rows]},
                         ensure_ascii=False, indent=1))
        return
    if report.bad_rows:
        _print_bad_rows(f"{len(report.bad_rows)} bad rows skipped", report.bad_rows)
    t = Table(title=f"{source} {period}: {report.rows} rows of {file.name} ({report.encoding}) compared in {report.seconds:.1f}s")
    for c in ("kind", "opened", "updated", "resolved", "still open"):
        t.add_column(c, justify="right" if c != "kind" else "left")
    for kind, v in summary["by_kind"].items():
        t.add_row(kind, str(v["opened"]), str(v["updated"]), str(v["resolved"]), str(v["still_open"]))
    console.print(t)


@app.command()
def recheck(kind: Optional[str] = typer.Option(None, "--kind", help="Only this mismatch kind (e.g. NAME_MISMATCH, OVER_QUOTA)."),
            unit: Optional[str] = typer.Option(None, "--unit", help="Only this unit's persons and the unit (unit code)."),
            as_json: bool = typer.Option(False, "--json", help="Print the tally as JSON.")):
    """Re-judge persons and units with today's rules (after a rule change or a fix: stale findings go, missing ones open)."""
    from hub.service_layer.recheck import recheck as run_recheck

    db = _db()
    try:
        tally = run_recheck(db, kind=kind, unit=unit)
    except ValueError as e:
        _fail(str(e))
    finally:
        db.dispose()
    out = {"opened": tally.opened, "updated": tally.updated, "resolved": tally.resolved}
    if as_json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return
    t = Table(title="recheck")
    for c in ("kind", "opened", "updated", "resolved"):
        t.add_column(c, justify="right" if c != "kind" else "left")
    for k in sorted(set(tally.opened) | set(tally.updated) | set(tally.resolved)):
        t.add_row(k, str(tally.opened.get(k, 0)), str(tally.updated.get(k, 0)), str(tally.resolved.get(k, 0)))
    console.print(t)


@export_app.command("roster")
def export_roster(period: str = typer.Option(..., "--period", help="YYYY-MM"),
                  for_: str = typer.Option(..., "--for", help="finance or insurance."),
                  out: Optional[Path] = typer.Option(None, "--out", help="CSV file to write (default: standard output).")):
    """Write who should be paid (finance) or insured (insurance) by which unit, from the registry."""
    from hub.service_layer.comparison.roster import export_roster as do_export

    db = _db()
    try:
        if out:  # written beside the target and renamed at the end: never a half-written roster under its name
            partial = out.with_name(f".{out.name}.partial")
            try:
                with partial.open("w", encoding="utf-8", newline="") as f:
                    n = do_export(db, period=period, for_=for_.lower(), out=f)
                partial.replace(out)
            finally:
                partial.unlink(missing_ok=True)
            err.print(f"wrote {n} rows to {out}")
        else:
            do_export(db, period=period, for_=for_.lower(), out=sys.stdout)
    finally:
        db.dispose()


@token_app.command("create")
def token_create(role: str = typer.Option(..., "--role", help="ADMIN, AUDITOR, POLICE, HR, FINANCE, INSURANCE, MONITOR, ORGANIZATION or UNIT."),
                 name: str = typer.Option(..., "--name", help="Who the token is for."),
                 unit: Optional[str] = typer.Option(None, "--unit", help="Unit code (UNIT tokens only)."),
                 region: Optional[str] = typer.Option(None, "--region", help="Six-digit division code (ADMIN tokens only): a district office that acts and lists only there.")):
    """Print a new bearer token for a partner (shown once; only its hash is stored)."""
    from hub.service_layer.tokens import create_token

    db = _db()
    try:
        _id, token = create_token(db, role=role.upper(), name=name, unit_code=unit, region_code=region)
    except ValueError as e:
        _fail(str(e))
    finally:
        db.dispose()
    print(token)


@token_app.command("list")
def token_list():
    """List tokens (never the tokens themselves)."""
    from hub.service_layer.tokens import list_tokens

    db = _db()
    t = Table()
    for c in ("id", "name", "role", "unit", "region", "created", "revoked"):
        t.add_column(c)
    for r in list_tokens(db):
        t.add_row(str(r.id), _cell(r.name), r.role, r.unit_code or "", r.region_code or "", str(r.created_at)[:19],
                  str(r.revoked_at)[:19] if r.revoked_at else "")
    db.dispose()
    console.print(t)


@token_app.command("revoke")
def token_revoke(token_id: int = typer.Argument(..., help="Token id from `hub token list`.")):
    """Revoke a token: its bearer is answered 401 from now on."""
    from hub.service_layer.tokens import revoke_token

    db = _db()
    try:
        earlier = revoke_token(db, token_id=token_id)
    finally:
        db.dispose()
    if earlier is not None:
        console.print(f"token {token_id} was already revoked at {str(earlier)[:19]}; nothing changed")
        return
    console.print(f"token {token_id} revoked")


def _audit_key(settings: Settings, what: str = "the audit key") -> bytes | None:
    try:
        return settings.audit_key_bytes()
    except ValueError as e:
        cause = e.__cause__
        if isinstance(cause, OSError) and cause.filename:  # the operating system's words, not its exception's name
            _fail(f"{what} (HUB_AUDIT_KEY_FILE): {explain(cause)}")
        _fail(f"{what}: {e}")


@audit_app.command("verify")
def audit_verify():
    """Check the operation log's and the access log's chains with the audit key (HUB_AUDIT_KEY_FILE, HUB_AUDIT_KEY or DATA_DIR/audit.key); exit 1 if any entry was edited, inserted or deleted."""
    from hub.adapters import access_chain, operation_log

    key = _audit_key(state.settings())
    db = _db()
    try:
        with db.read_session() as s:
            reports = {"operation log": operation_log.verify(s, key=key), "access log": access_chain.verify(s, key=key)}
    finally:
        db.dispose()
    problems = 0
    for name, report in reports.items():
        scheme = "HMAC-SHA256 with the audit key" if report.keyed else "UNKEYED SHA-256 (no audit key configured)"
        for note in report.notes:
            console.print(f"{name}: ", _cell(note), sep="")  # notes and problems quote the database's rows
        if report.ok:
            console.print(f"{name} intact: {report.checked} entries verified ({scheme})")
            continue
        problems += len(report.problems)
        for p in report.problems:
            line = Text(f"{name}: ") + _cell(p)
            line.stylize("red")
            err.print(line)
    if problems:
        _fail(f"audit logs tampered: {problems} problem(s)")


@audit_app.command("rekey")
def audit_rekey(old_key_file: Optional[Path] = typer.Option(None, "--old-key-file", help="The key the logs are signed with now (rotation)."),
                from_unkeyed: bool = typer.Option(False, "--from-unkeyed", help="The logs were written without a key (introducing one).")):
    """Sign both audit logs with the configured key after checking them under the old scheme (once when a key is introduced, and to rotate it). Refused, changing nothing, if they do not verify."""
    from hub.adapters import access_chain, operation_log

    settings = state.settings()
    new_key = _audit_key(settings)
    if new_key is None:
        _fail("no audit key configured: set HUB_AUDIT_KEY_FILE (or HUB_AUDIT_KEY) to the new key")
    if (old_key_file is None) == (not from_unkeyed):
        _fail("give exactly one of --old-key-file PATH and --from-unkeyed")
    old_key = _audit_key(load_settings(audit_key_file=old_key_file), "the old key") if old_key_file else None
    db = _db()
    try:
        with db.session() as s, s.begin():
            entries = operation_log.rekey(s, new_key=new_key, old_key=old_key, from_unkeyed=from_unkeyed)
            seals = access_chain.rekey(s, new_key=new_key, old_key=old_key, from_unkeyed=from_unkeyed)
    except ValueError as e:
        _fail(str(e))
    finally:
        db.dispose()
    console.print(f"signed {entries} operation-log entries and {seals} access-log seals with key "
                  f"{operation_log.key_id(new_key)}")


@app.command()
def demo(persons: int = typer.Option(2000, "--persons", min=1, help="How many persons the synthetic city has."),
         out: Optional[Path] = typer.Option(None, "--out", help="Where the CSVs are (default: DATA_DIR/demo-city/<database>-<hash>, one folder per database)."),
         seed: int = typer.Option(42, "--seed"),
         csv_only: bool = typer.Option(False, "--csv-only", help="Only write the CSVs; do not import them."),
         stream_only: bool = typer.Option(False, "--stream-only", help="Only stream partner events over the city this database already holds (loaded by `hub up --demo` or `hub demo`) to a running hub."),
         events: int = typer.Option(2000, "--events", min=0, help="About this many partner events to stream after the import (each person's events go together; needs a broker)."),
         rate: float = typer.Option(200.0, "--rate", help="Events per second."),
         bootstrap: Optional[str] = typer.Option(None, "--bootstrap", help="Broker to stream to (default HUB_KAFKA_BOOTSTRAP_SERVERS; `hub up` prints its embedded one).")):
    """Generate a realistic synthetic city (13 districts), import it, and stream partner events so mismatches appear."""
    from hub.demo.city import demo_dir, generate_city

    settings = state.settings()
    out = out or demo_dir(settings.data_dir, settings.effective_database_url())
    target = bootstrap or settings.kafka_bootstrap_servers
    if stream_only:
        if not (out / "postings.csv").is_file():
            _fail(f"no demo city at {out} for this database; load one first (`hub up --demo` or `hub demo`), or name its folder with --out")
        if not target:
            _fail("--stream-only needs the running hub's broker: --bootstrap HOST:PORT (`hub up` prints it) or HUB_KAFKA_BOOTSTRAP_SERVERS")
        import time

        base = int(time.time() * 1000)  # later than any earlier stream's sequences: not stale to the hub
        _stream_demo(out, target, events, seed=seed, rate=rate, sequence_base=base)
        return
    if not csv_only:
        db = _db()
        try:
            loaded = _registry_persons(db)
        finally:
            db.dispose()
        if loaded:
            _fail(f"the registry at {_database_named()} already holds {loaded} persons and the demo imports only into an "
                  f"empty one; to stream partner events over the city it holds: hub demo --stream-only --bootstrap HOST:PORT")
    out.mkdir(parents=True, exist_ok=True)
    with _progress() as bar:
        task = bar.add_task("generate persons", total=persons)
        summary = generate_city(out, persons, seed=seed, progress=lambda n: bar.update(task, completed=n))
    console.print(f"wrote {summary.units} units, {summary.persons} persons, {summary.postings} postings to {out}")
    if csv_only:
        return
    import_(out, as_json=False)
    if not events:
        return
    if not target:
        console.print("no broker configured: with `hub up` running on this database, stream partner events to it with "
                      "`hub demo --stream-only --bootstrap HOST:PORT` (HOST:PORT: what `hub up` prints after "
                      "\"Kafka bootstrap servers:\")", soft_wrap=True)
        return
    _stream_demo(out, target, events, seed=seed, rate=rate)


def _stream_demo(city: Path, target: str, events: int, *, seed: int, rate: float, sequence_base: int = 0) -> None:
    from hub.demo.events import plan_events, stream_events

    settings = state.settings()
    plan = plan_events(city, events, seed=seed, sequence_base=sequence_base)
    if sequence_base:  # a later stream over the same city: fresh event ids, or the hub takes them for duplicates
        import uuid

        for event in plan.events:
            event["id"] = str(uuid.uuid4())
    with _progress() as bar:
        task = bar.add_task("stream events", total=len(plan.events))
        n = stream_events(target, plan.events, topic_prefix=settings.topic_prefix, rate=rate,
                          progress=lambda k: bar.update(task, completed=k))
    console.print(f"streamed {n} partner events; planted: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(plan.planted.items())))


def _registry_persons(db) -> int:
    """How many persons the registry holds (the demo loads only into an empty one)."""
    from sqlalchemy import func, select

    from hub.adapters.orm import PersonRow

    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(PersonRow))


@app.command()
def up(host: Optional[str] = typer.Option(None, "--host", help="Override HUB_HTTP_HOST."),
       port: Optional[int] = typer.Option(None, "--port", help="Override HUB_HTTP_PORT."),
       with_demo: bool = typer.Option(False, "--demo", help="Load a synthetic city first if the registry is empty."),
       connectors: str = typer.Option("all", "--connectors", help="Connectors to run in-process: all, none, or a comma list (police,hr,finance,insurance).")):
    """Run everything on one machine: migrations, HTTP/GraphQL, connectors, outbox relay; Ctrl-C stops."""
    import uvicorn

    from hub.api.app import create_app
    from hub.bootstrap import (build, ensure_topics, readiness, share_metrics_with_workers, start_access_log_upkeep,
                               start_connectors, start_daily_checks, start_outbox_relay)

    settings = state.settings(http_host=host, http_port=port)
    names = _connector_names(connectors)
    if settings.http_port == 0:  # "any free port": chosen here, so that the banner names the one it listens on
        settings = settings.model_copy(update={"http_port": _free_port(settings.http_host)})
    _check_port_free(settings.http_host, settings.http_port)
    _hold_embedded_stores(settings)
    from hub.adapters.logs import configure

    configure(settings.log_format, settings.log_level)
    created_key = _ensure_audit_key(settings)
    try:  # the files the API needs, checked before anything starts: a clear error, not a traceback
        from hub.adapters.calendar_file import load_calendar
        from hub.adapters.form_key import load_or_create

        load_calendar(settings.calendar_file)
        load_or_create(settings.form_key_path())
    except ValueError as e:
        _fail(str(e))
    except OSError as e:  # the calendar words its own; the form key file's are the operating system's
        _fail(f"the approval forms' key (HUB_FORM_KEY_FILE): {explain(e) or e}")
    hub = build(settings)
    try:
        if created_key:
            _sign_with_new_key(hub.db)
        start_daily_checks(hub, in_subprocess=True)  # off the API's process (GIL): no request stalls after start
        ensure_topics(hub)
        demo_skipped = _demo_if_empty(hub) if with_demo else None
        if settings.http_workers > 1:  # /metrics of every worker merges the connectors' and relay's counters
            share_metrics_with_workers(hub)
        if names:
            start_connectors(hub, names)
        start_outbox_relay(hub)
        start_access_log_upkeep(hub)  # PostgreSQL: the GIN pending-list merge off the request path
        from hub.adapters.heap import freeze_heap, watch_collector

        watch_collector(hub.stop_event)  # this process's collector pauses at /metrics (after share_metrics_with_workers)
        workers = settings.http_workers
        if workers > 1:  # worker processes build their own app (hub.api.app.worker_app) from the environment
            import os

            os.environ["HUB_DATABASE_URL"] = settings.effective_database_url()
            from hub.api.app import PARENT_PID_VARIABLE

            os.environ[PARENT_PID_VARIABLE] = str(os.getpid())  # the workers end when this process is gone
            config = uvicorn.Config("hub.api.app:worker_app", factory=True, host=settings.http_host, port=settings.http_port,
                                    log_level="warning", access_log=False, workers=workers,
                                    ws_max_size=settings.http_max_body_bytes)
        else:
            application = create_app(hub.db, production=settings.env == "production", readiness=lambda: readiness(hub),
                                     token_cache_s=settings.token_cache_s, settings=settings)
            # access_log=False: at log level warning uvicorn's access lines were never written, but each response
            # still built one (client address, path) for the logger to drop
            config = uvicorn.Config(application, host=settings.http_host, port=settings.http_port, log_level="warning",
                                    access_log=False, ws_max_size=settings.http_max_body_bytes)
        # start-up objects out of the collector's reach, also of this process when it runs connectors and relay for
        # HTTP workers of their own (docs/bench-graphql.md, docs/bench-streaming.md session 12)
        freeze_heap()
        server = uvicorn.Server(config)
        # Listening before the banner names the address: a client that connects as soon as it reads it is queued
        # until the server loop runs, not refused (CI, session 12: `--port 0` then /healthz at once, refused).
        listening = config.bind_socket()
        db_where = settings.effective_database_url() if settings.database_url is None else _redact(settings.database_url)
        console.print(f"[bold green]hub up[/] database {db_where}")
        console.print(f"  Kafka bootstrap servers: [bold]{hub.bootstrap_servers}[/]" + (" (embedded Tansu broker)" if hub.broker else ""))
        base = f"http://{settings.http_host}:{settings.http_port}"
        console.print(f"  GraphQL: [bold]{base}/graphql[/]   health: /healthz  readiness: /readyz")
        for note in _banner_notes:
            console.print(note, soft_wrap=True, highlight=False)
        if workers > 1:
            console.print(f"  {workers} HTTP worker processes")
        _next_steps(settings, hub, base, with_demo, demo_skipped)
        console.print("  Ctrl-C stops.")
        import warnings

        # a Ctrl-C before uvicorn's loop runs its server leaves that coroutine unawaited: no warning after "hub stopped"
        warnings.filterwarnings("ignore", message="coroutine 'Server.serve' was never awaited", category=RuntimeWarning)
        try:
            if workers > 1:
                from uvicorn.supervisors import Multiprocess

                Multiprocess(config, sockets=[listening]).run()
            else:
                server.run(sockets=[listening])
        except KeyboardInterrupt:  # uvicorn re-raises the signal after its graceful shutdown
            pass
    except KeyboardInterrupt:  # Ctrl-C while starting or printing the banner: stopped as asked, not an error
        pass
    finally:
        hub.close()
        console.print("hub stopped")


def _ensure_audit_key(settings: Settings) -> bool:
    """`hub up` on embedded defaults (no HUB_DATABASE_URL) without a configured audit key: create DATA_DIR/audit.key
    (0600). True if it was created now. With a database of its own the operator provides the key (every process
    writing the database needs the same one)."""
    from hub.adapters.operation_log import create_key_file

    if settings.database_url is not None or settings.audit_key_configured():
        if _audit_key(settings) is None:  # a configured key must be readable: fail now, not at the first write
            _banner_notes.append("  [yellow]audit logs unkeyed[/]: set HUB_AUDIT_KEY_FILE so that database writers "
                                 "cannot rewrite them unnoticed (docs/security.md)")
        return False
    path = settings.default_audit_key_file()
    create_key_file(path)
    console.print(f"  created the audit key {path} (0600): keep a copy outside this machine; without it the logs "
                  f"cannot be verified", soft_wrap=True, highlight=False)  # said at once: a file was made
    return True


# Notes of `hub up`'s checks, printed with its banner (not before an error that stops it: one line then).
_banner_notes: list[str] = []


def _sign_with_new_key(db) -> None:
    """Sign what the logs hold already (an embedded hub from before keying) with the key just created."""
    from hub.adapters import access_chain, operation_log

    try:
        with db.session() as s, s.begin():
            operation_log.rekey(s, new_key=db.audit_key, from_unkeyed=True)
            access_chain.rekey(s, new_key=db.audit_key, from_unkeyed=True)
    except ValueError as e:
        _fail(f"{e}\nthe audit key was created but the logs already there were not signed: inspect them, then "
              f"run `hub audit rekey --from-unkeyed`")
def _free_port(host: str) -> int:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, 0))
        except OSError as e:
            _fail(f"cannot listen on {host} ({e.strerror}); check --host or HUB_HTTP_HOST")
        return s.getsockname()[1]


def _check_port_free(host: str, port: int) -> None:
    """Refuse to start (before migrations or a broker) when the HTTP port is taken."""
    import socket

    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a port in TIME_WAIT is free
        try:
            s.bind((host, port))
        except OSError as e:
            _fail(f"cannot listen on {host}:{port} ({e.strerror}); stop what uses the port, or choose another with "
                  f"--port or HUB_HTTP_PORT")


_held_locks: list = []  # the open lock files of `hub up` (kept open while it runs: closing one releases it)


def _hold_embedded_stores(settings) -> None:
    """One `hub up` per embedded store, refused before anything starts. Two on one SQLite file both run an outbox
    relay (SQLite has no relay lock): each marks rows sent that only its own broker received. Two with an embedded
    broker on one data folder each start a broker, and a partner connected to one misses what the other publishes.
    PostgreSQL with an external broker takes no lock: replicas are fine there (the relay's advisory lock)."""
    import fcntl

    from sqlalchemy.engine import make_url

    paths = []
    url = make_url(settings.effective_database_url())
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        paths.append((Path(url.database).resolve().with_name(Path(url.database).name + ".hub-up.lock"),
                      f"the SQLite database {Path(url.database).resolve()}"))
    if not settings.kafka_bootstrap_servers:
        paths.append((settings.data_dir.resolve() / "hub-up.lock",
                      f"the data folder {settings.data_dir.resolve()} (its embedded broker)"))
    for path, what in paths:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            f = open(path, "a+")
        except OSError as e:
            _fail(f"cannot create the lock file {path}: {explain(e) or e}")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            pid = f.read().strip() or "?"
            f.close()
            _fail(f"another `hub up` (pid {pid}) is running on {what}; stop it first, or give this one its own "
                  f"HUB_DATA_DIR (and HUB_DATABASE_URL)")
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        _held_locks.append(f)


def _connector_names(value: str) -> list[str]:
    from connectors.spec import all_connectors

    known = list(all_connectors())
    v = value.strip().lower()
    if v == "all":
        return known
    if v in ("none", ""):
        return []
    names = [n.strip() for n in v.split(",") if n.strip()]
    bad = [n for n in names if n not in known]
    if bad:
        _fail(f"unknown connector(s) {', '.join(bad)}; known: {', '.join(known)}")
    return names


@connector_app.command("run")
def connector_run(name: str = typer.Argument(..., help="police, hr, finance or insurance.")):
    """Run one connector as its own service; copies of it share the topic's partitions (consumer group)."""
    from hub.bootstrap import build, ensure_topics, start_connectors

    names = _connector_names(name)
    settings = state.settings()
    from hub.adapters.logs import configure

    configure(settings.log_format, settings.log_level)
    if not settings.kafka_bootstrap_servers:
        _fail("a standalone connector needs HUB_KAFKA_BOOTSTRAP_SERVERS (`hub up` runs connectors on an embedded broker)")
    hub = build(settings)
    stop = hub.stop_event
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        ensure_topics(hub)
        runners = start_connectors(hub, names, group=True)
        from hub.adapters.heap import freeze_heap, frozen_objects, watch_collector

        watch_collector(stop)
        freeze_heap()  # a long-running process: its start-up heap out of the collector's reach (no full-collection pauses)
        console.print(f"connector {names[0]} consuming {settings.topic(runners[0][0].spec.topic)} from {hub.bootstrap_servers}"
                      f" (start-up heap frozen: {frozen_objects()} objects); Ctrl-C stops")
        while not stop.is_set() and all(t.is_alive() for _, t in runners):
            stop.wait(0.5)
        failed = [r for r, t in runners if not t.is_alive() and r.failed]
    except KeyboardInterrupt:
        failed = []
    finally:
        hub.close()
    if failed:
        _fail(f"connector stopped: {failed[0].failed!r}")


def _parse_when(value: str | None):
    from datetime import datetime, timezone

    if value is None:
        return None
    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"{value!r} is not an ISO date or date-time")
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def _dl_filter(ids, since, until, reason, include_replayed=False):
    from hub.service_layer.deadletters import DeadLetterFilter

    return DeadLetterFilter(ids=ids or None, since=_parse_when(since), until=_parse_when(until),
                            reason_contains=reason, include_replayed=include_replayed)


@deadletter_app.command("list")
def deadletter_list(ids: list[int] = typer.Option(None, "--id", help="Only these ids (repeatable)."),
                    since: Optional[str] = typer.Option(None, "--since", help="ISO date-time (UTC if no zone)."),
                    until: Optional[str] = typer.Option(None, "--until"),
                    reason: Optional[str] = typer.Option(None, "--reason", help="Reason contains this text."),
                    include_replayed: bool = typer.Option(False, "--all", help="Include replayed ones."),
                    as_json: bool = typer.Option(False, "--json")):
    """List dead letters (newest last)."""
    from hub.service_layer.deadletters import list_dead_letters

    db = _db()
    rows = list_dead_letters(db, _dl_filter(ids, since, until, reason, include_replayed))
    db.dispose()
    if as_json:
        print(json.dumps([{"id": r.id, "connector": r.connector, "topic": r.topic, "partition": r.partition, "offset": r.offset,
                           "key": r.key, "reason": r.reason, "created_at": str(r.created_at),
                           "replayed_at": str(r.replayed_at) if r.replayed_at else None} for r in rows], ensure_ascii=False, indent=1))
        return
    t = Table(title=f"{len(rows)} dead letters")
    for c in ("id", "connector", "topic/partition@offset", "key", "reason", "at"):
        t.add_column(c)
    for r in rows:
        t.add_row(str(r.id), _cell(r.connector), _cell(f"{r.topic}/{r.partition}@{r.offset}"), _cell(r.key), _cell(r.reason),
                  str(r.created_at)[:19])
    console.print(t)


@deadletter_app.command("replay")
def deadletter_replay(ids: list[int] = typer.Option(None, "--id", help="Only these ids (repeatable)."),
                      since: Optional[str] = typer.Option(None, "--since"),
                      until: Optional[str] = typer.Option(None, "--until"),
                      reason: Optional[str] = typer.Option(None, "--reason", help="Reason contains this text."),
                      dry_run: bool = typer.Option(False, "--dry-run", help="Only show what would be replayed.")):
    """Re-inject dead letters into their original topic (after the cause was fixed); audited."""
    from hub.service_layer.deadletters import replay

    if not (ids or since or until or reason):
        _fail("select what to replay: --id, --since/--until or --reason")
    settings = state.settings()
    db = _db()
    try:
        rows = replay(db, settings.kafka_bootstrap_servers, _dl_filter(ids, since, until, reason), dry_run=dry_run)
    except ValueError as e:
        _fail(str(e))
    finally:
        db.dispose()
    if not rows:
        console.print("no dead letters match (see `hub deadletter list`)")
        return
    verb = "would replay" if dry_run else "replayed"
    console.print(f"{verb} {len(rows)} dead letters: {', '.join(str(r.id) for r in rows)}")


@outbox_app.command("refused")
def outbox_refused(as_json: bool = typer.Option(False, "--json")):
    """List the outbound events set aside because the broker refused them (oldest first), with the reason and how
    many later events of the same key wait behind each. Shows no key and no data (they may hold ID numbers)."""
    from hub.service_layer.refused_events import list_refused

    db = _db()
    try:
        rows = list_refused(db)
    finally:
        db.dispose()
    if as_json:
        print(json.dumps([{"id": r.id, "topic": r.topic, "type": r.type, "event_id": r.event_id, "bytes": r.size,
                           "created_at": str(r.created_at), "refused_at": str(r.refused_at), "reason": r.reason,
                           "waiting_behind": r.waiting} for r in rows], ensure_ascii=False, indent=1))
        return
    if not rows:
        console.print("no refused events: the relay publishes everything")
        return
    t = Table(title=f"{len(rows)} refused events (fix the cause, then `hub outbox retry ID` or `--all`)")
    for c in ("id", "topic", "type", "bytes", "refused at", "reason", "waiting behind"):
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(str(r.id), _cell(r.topic), _cell(r.type), str(r.size), str(r.refused_at)[:19], _cell(r.reason),
                  str(r.waiting))
    console.print(t)


@outbox_app.command("retry")
def outbox_retry(ids: list[int] = typer.Argument(None, help="Outbox row ids from `hub outbox refused`."),
                 all_: bool = typer.Option(False, "--all", help="Every refused event.")):
    """Put refused events back for the relay (after raising the limit that refused them: HUB_OUTBOX_MAX_MESSAGE_BYTES,
    the topic's max.message.bytes). The running hub's relay publishes them, then the events that waited behind them,
    in order; one the broker still refuses is set aside again with the new reason. Audited."""
    from hub.service_layer.refused_events import retry

    if bool(ids) == all_:
        _fail("give the ids of refused events (`hub outbox refused`) or --all, not both")
    db = _db()
    try:
        back = retry(db, None if all_ else ids)
    except ValueError as e:
        _fail(str(e))
    finally:
        db.dispose()
    if not back:
        console.print("no refused events (see `hub outbox refused`)")
        return
    shown = ", ".join(map(str, back[:20])) + (f" … ({len(back) - 20} more)" if len(back) > 20 else "")
    console.print(f"put back {len(back)} refused events for the relay: {shown}; `hub up` publishes "
                  "them in order (check `hub outbox refused` again)")


def _redact(url: str) -> str:
    import re

    return re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", url)


def _demo_if_empty(hub) -> int | None:
    """`hub up --demo`: load a synthetic city into an empty registry and stream partner events in the background.

    Returns None when it loaded the city, else how many persons the registry held (the demo was skipped)."""
    import threading

    from hub.demo.city import demo_dir, generate_city
    from hub.demo.events import plan_events, stream_events
    from hub.service_layer.importer import import_registry

    held = _registry_persons(hub.db)
    if held:
        return held
    out = demo_dir(hub.settings.data_dir, hub.settings.effective_database_url())
    generate_city(out, 2000)
    import_registry(hub.db, out, actor="demo")
    console.print(f"demo city loaded from {out}; streaming partner events in the background")
    plan = plan_events(out, 2000)
    threading.Thread(target=lambda: stream_events(hub.bootstrap_servers, plan.events, topic_prefix=hub.settings.topic_prefix,
                                                  rate=100, stop_event=hub.stop_event), name="demo-events", daemon=True).start()
    return None


def _hub_command() -> str:
    """How to run `hub` again from another shell: `hub` when that name on PATH is this very program, else its full
    path (`bash scripts/up.sh` installs into .venv/, which is not on PATH: a bare `hub` would not be found)."""
    import os
    import shutil

    me = Path(sys.argv[0])
    if me.name != "hub":  # `python -m hub.cli`: no executable of our own to name
        return "hub"
    on_path = shutil.which("hub")
    if on_path and os.path.realpath(on_path) == os.path.realpath(me):
        return "hub"
    return str(me.resolve()) if me.exists() else "hub"


def _next_steps(settings: Settings, hub, base: str, with_demo: bool, demo_skipped: int | None) -> None:
    """The banner's next steps for whoever started the hub: a token, the dashboard, GraphiQL, the demo."""
    db = "" if state.database_url is None else f" --database-url '{_redact(state.database_url)}'"
    cmd = _hub_command() + db
    if demo_skipped:
        console.print(f"  --demo skipped: the registry already holds {demo_skipped} persons (the demo loads only into an "
                      "empty one); more partner events over it:", soft_wrap=True)
        console.print(f"    {cmd} demo --stream-only --bootstrap {hub.bootstrap_servers}", soft_wrap=True, highlight=False)
    console.print("  Next steps:")
    console.print(f"    make a token:   {cmd} token create --role ADMIN --name me   (then: Authorization: Bearer <token>)",
                  soft_wrap=True, highlight=False)
    console.print(f"    dashboard:      {base}/dashboard   (数据展现; sign in with a token)", soft_wrap=True, highlight=False)
    if settings.env == "production":
        console.print("    GraphiQL is off in production (HUB_ENV=production); send queries to /graphql", soft_wrap=True)
    else:
        console.print(f"    explore:        {base}/graphiql", soft_wrap=True, highlight=False)
    stream = f"{cmd} demo --stream-only --bootstrap {hub.bootstrap_servers}"
    if not with_demo:
        console.print(f"    a demo city:    {cmd} up --demo   (loads into an empty registry)", soft_wrap=True, highlight=False)
    elif demo_skipped is None:
        console.print(f"    more events:    {stream}", soft_wrap=True, highlight=False)


_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # control characters (ESC…) a name must not send to a terminal


@app.command()
def report(name: Optional[str] = typer.Argument(None, help="Report name (without it: the catalogue)."),
           param: list[str] = typer.Option([], "--param", help="KEY=VALUE, repeatable (see the catalogue)."),
           fmt: str = typer.Option("table", "--format", help="table, csv, xlsx or html."),
           out: Optional[Path] = typer.Option(None, "--out", help="File to write (default: standard output; xlsx needs it).")):
    """Run a statistical report (统计报表): `hub report` lists them, `hub report NAME --param KEY=VALUE` runs one."""
    import getpass

    from rich.markup import escape as escape_markup

    from hub import reports
    from hub.api.access import write_reads
    from hub.reports import render
    from hub.domain.vocabulary import Role
    from hub.service_layer.tokens import Principal

    if name is None:
        t = Table(title="报表目录 Reports")
        for c in ("name", "title", "params", "purpose"):
            t.add_column(c)
        for r in reports.catalogue().values():
            t.add_row(r.name, r.title, ", ".join(p.name + ("*" if p.required else "") for p in r.params), r.purpose)
        console.print(t)
        return
    if fmt not in render.FORMATS:
        _fail(f"unknown format {fmt!r} (formats: {', '.join(render.FORMATS)})")
    if fmt == "xlsx" and out is None:
        _fail("--format xlsx writes a file: give --out FILE.xlsx")
    params: dict[str, str] = {}
    for p in param:
        key, sep, value = p.partition("=")
        if not sep or not key.strip():
            _fail(f"--param {p!r} must be KEY=VALUE")
        params[key.strip()] = value
    try:
        reports.get(name).parse_params(params)  # bad input: a clear error before anything opens
    except reports.ReportError as e:
        _fail(str(e))
    if out is not None:
        from hub.cli_files import check_out_file

        try:
            check_out_file(out)  # before the report runs: its person reads are logged
        except ValueError as e:
            _fail(str(e))
    settings = state.settings()
    db = _db()
    staged = None
    try:
        from hub.adapters.calendar_file import load_calendar

        tables, reads = reports.run_workbook(db, name, params, caller=reports.Caller(name=f"cli:{getpass.getuser()}", role=Role.ADMIN),
                                             calendar=load_calendar(settings.calendar_file), companions=fmt == "xlsx")
        table = tables[0]
        if out is not None and fmt != "table":  # written whole before the reads are logged, named after (hub/cli_files.py)
            from hub.cli_files import StagedFile

            try:
                staged = StagedFile(out, _rendered(fmt, tables, settings))
            except ValueError as e:  # a full disk, a file-size limit: nothing written, no reads logged
                _fail(str(e))
        if reads:  # the operator read persons: the access log says so, as for any token
            operator = Principal(token_id=None, name=f"cli:{getpass.getuser()}", role=Role.ADMIN)
            write_reads(db, principal=operator, reads=[(i, f"hub report {name}", f"Report.{name}", None, None)
                                                       for i in reads])
    except reports.ReportError as e:
        _fail(str(e))
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    finally:
        db.dispose()
    if staged is not None:
        staged.publish()
        err.print(f"wrote {len(table.rows)} rows to {out}")
        return
    if fmt == "table":
        t = Table(title=table.title)
        for lbl, col in zip(table.labels, table.columns):
            t.add_column(f"{lbl}\n{col}", overflow="fold")
        for row in table.rows:
            t.add_row(*("" if v is None else escape_markup(_TERMINAL_UNSAFE.sub("\ufffd", str(v))) for v in row))  # names are data: no markup, no escapes
        console.print(t)
        return
    sys.stdout.buffer.write(_rendered(fmt, tables, settings))
    sys.stdout.flush()


def _rendered(fmt: str, tables, settings: Settings) -> bytes:
    """A report's csv, xlsx or html bytes."""
    from hub.reports import render

    if fmt == "csv":
        return render.to_csv(tables[0]).encode("utf-8")
    if fmt == "xlsx":
        return render.to_xlsx(tables)  # with the report's companion sheets (the annual report's staff table)
    return render.to_html(tables[0], office=settings.office_name).encode("utf-8")


# issue 17: `hub evaluation …` and `hub absorption …` (given this module's database and error helpers: under
# `python -m hub.cli` this module is __main__, and importing hub.cli again would read other, empty options)
from hub import cli_evaluation  # noqa: E402

cli_evaluation.use(db=_db, fail=_fail, settings=lambda: state.settings())
app.add_typer(cli_evaluation.evaluation_app, name="evaluation")
app.add_typer(cli_evaluation.absorption_app, name="absorption")


def run() -> None:
    """The `hub` executable: the Typer app, then a quick exit.

    Freezing the garbage collector as the command ends spares the interpreter's last collection over every object
    of the imported libraries (~0.2 s of every command's exit; the process is ending, nothing is left to collect).
    """
    try:
        app()
    finally:
        gc.freeze()


if __name__ == "__main__":
    run()
