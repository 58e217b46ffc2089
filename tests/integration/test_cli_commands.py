"""The `hub` commands around tokens and the audit chain, as a user types them."""

import re

from sqlalchemy import text
from typer.testing import CliRunner

from hub.adapters.database import connect
from hub.cli import app


def run(db_url, *args):
    return CliRunner().invoke(app, ["--database-url", db_url, *args])


def test_token_create_list_revoke_and_bad_input(db_url):
    r = run(db_url, "token", "create", "--role", "auditor", "--name", "审计局 张三")
    assert r.exit_code == 0 and re.fullmatch(r"hub_\S{40,}\n", r.output)
    secret = r.output.strip()
    listed = run(db_url, "token", "list")
    assert "AUDITOR" in listed.output and "审计局" in listed.output and secret not in listed.output
    assert run(db_url, "token", "revoke", "1").exit_code == 0
    assert run(db_url, "token", "revoke", "99").exit_code == 1
    bad = run(db_url, "token", "create", "--role", "KING", "--name", "x")
    assert bad.exit_code == 1 and "unknown role 'KING'" in bad.output
    unit = run(db_url, "token", "create", "--role", "UNIT", "--name", "x")
    assert unit.exit_code == 1 and "--unit" in unit.output
    db = connect(db_url)
    with db.read_engine.connect() as c:
        stored = c.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    db.dispose()
    assert secret not in stored and all(len(h) == 64 for h in stored)


def test_audit_verify_command_passes_then_catches_tampering(db_url):
    run(db_url, "token", "create", "--role", "ADMIN", "--name", "a")
    run(db_url, "token", "create", "--role", "ADMIN", "--name", "b")
    ok = run(db_url, "audit", "verify")
    assert ok.exit_code == 0 and "2 entries verified" in ok.output
    db = connect(db_url)
    with db.engine.begin() as c:
        c.execute(text("UPDATE operation_log SET after = '{\"name\":\"mallory\"}' WHERE seq = 1"))
    db.dispose()
    bad = run(db_url, "audit", "verify")
    assert bad.exit_code == 1 and "entry 1" in bad.output and "tampered" in bad.output


def test_migrate_and_demo_csv_only_commands(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh' / 'hub.sqlite3'}"
    r = run(url, "migrate")
    assert r.exit_code == 0 and "database at revision" in r.output
    out = tmp_path / "city"
    r = run(url, "demo", "--persons", "300", "--csv-only", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} >= {"units.csv", "quotas.csv", "leader_quotas.csv", "persons.csv", "postings.csv"}
    assert sum(1 for _ in (out / "persons.csv").open(encoding="utf-8")) == 301


def test_listings_show_partner_text_as_text_not_as_terminal_control_or_markup(db_url):
    """A dead letter's key and reason come from a partner's message: escape sequences in them reached the operator's
    terminal (clear the screen, set the clipboard, hide lines) and rich markup in them was rendered."""
    from datetime import datetime, timezone

    from hub.adapters.orm import DeadLetterRow

    db = connect(db_url)
    with db.session() as s, s.begin():
        s.add(DeadLetterRow(connector="police", topic="t", partition=0, offset=1, key="\x1b[2Jk",
                            raw_base64="", reason="[bold]ok[/bold] \x1b]52;c;ZWNobw==\x07 \x9b31m",
                            created_at=datetime.now(timezone.utc)))
    db.dispose()
    r = run(db_url, "deadletter", "list")
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.output and "\x07" not in r.output and "\x9b" not in r.output, repr(r.output)
    assert "[bold]" in r.output and "\\x1b" in r.output  # shown (a table cell may wrap), not rendered
    name = run(db_url, "token", "create", "--role", "auditor", "--name", "[red]x\x1b[8m")
    assert name.exit_code == 0
    listed = run(db_url, "token", "list").output
    assert "\x1b" not in listed and "[red]x" in listed, repr(listed)


def test_audit_verify_quotes_what_an_insider_wrote_as_text(db_url):
    """The chain head's key id is the database's: an insider's escape sequence in it must not reach the terminal."""
    run(db_url, "token", "create", "--role", "ADMIN", "--name", "a")
    db = connect(db_url)
    with db.engine.begin() as c:
        c.execute(text("UPDATE audit_chain_head SET key_id = :k"), {"k": "\x1b[2J[red]x"})
    db.dispose()
    bad = run(db_url, "audit", "verify")
    assert bad.exit_code == 1 and "\x1b" not in bad.output and "[red]x" in bad.output, repr(bad.output)
