"""What a newcomer meets beyond a wrong flag (session 11): Ctrl-C in the middle of a command, an output file the
command cannot write, a long table of bad rows, a relative SQLite URL. Each says what happened in one line and
changes nothing it should not. Run as a user runs them: the command in a subprocess."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from hub.demo.city import generate_city

HUB = [sys.executable, "-m", "hub.cli"]


def _env(tmp_path: Path) -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    e.update({"HUB_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1"})
    return e


def _hub(args, tmp_path, timeout=300):
    return subprocess.run(HUB + args, cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=timeout)


def _lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("{")]  # JSON log lines aside


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as c:
        return c.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _has_open(pid: int, path: Path) -> bool:
    """Whether the process holds ``path`` open (it has reached the command's body: the database is opened there)."""
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def test_ctrl_c_during_an_import_says_so_in_one_line_and_imports_nothing(tmp_path):
    city = tmp_path / "city"
    generate_city(city, 60000)  # an import of several seconds
    db = tmp_path / "hub.sqlite3"
    url = f"sqlite:///{db}"
    assert _hub(["--database-url", url, "migrate"], tmp_path).returncode == 0
    proc = subprocess.Popen(HUB + ["--database-url", url, "import", str(city)], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not _has_open(proc.pid, db):  # inside the command, not still importing Python modules
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err, err
    lines = _lines(err)
    assert lines == ["error: interrupted (Ctrl-C): nothing was imported (an import is all or nothing); run it again"], err
    assert _count(db, "persons") == 0 and _count(db, "units") == 0 and _count(db, "outbox") == 0


def test_a_report_or_pack_that_cannot_write_its_file_reads_nobody(tmp_path):
    """The file is checked before the report runs: a report's person reads go to the access log, and a report that
    then failed to write its file would leave reads behind that nobody received."""
    city = tmp_path / "city"
    generate_city(city, 400)
    db = tmp_path / "hub.sqlite3"
    url = ["--database-url", f"sqlite:///{db}"]
    assert _hub(url + ["import", str(city)], tmp_path).returncode == 0
    with (city / "postings.csv").open(encoding="utf-8") as f:
        unit = next(csv.DictReader(f))["unit_code"]
    report = ["report", "retirements-due", "--param", "months=120", "--format", "csv", "--out"]
    pack = ["supervision", "pack", "--unit", unit, "--for", "audit", "--format", "html", "--out"]
    for command in (report, pack):
        before = _count(db, "access_log")
        bad = _hub(url + command + [str(tmp_path / "no" / "such" / "out.file")], tmp_path)
        assert bad.returncode == 1 and "Traceback" not in bad.stderr, bad.stderr
        lines = _lines(bad.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: --out ") and "does not exist" in lines[0], bad.stderr
        assert _count(db, "access_log") == before, command  # nobody was read
        good = _hub(url + command + [str(tmp_path / "out.file")], tmp_path)  # the same with a writable file reads
        assert good.returncode == 0, good.stderr
        assert _count(db, "access_log") > before and (tmp_path / "out.file").stat().st_size > 0


def test_a_long_table_of_bad_rows_ends_with_the_verdict(tmp_path):
    city = tmp_path / "city"
    generate_city(city, 50)
    url = ["--database-url", f"sqlite:///{tmp_path / 'hub.sqlite3'}"]
    assert _hub(url + ["import", str(city)], tmp_path).returncode == 0
    again = _hub(url + ["import", str(city)], tmp_path)  # every row is already there
    assert again.returncode == 1 and "Traceback" not in again.stderr
    last = _lines(again.stderr)[-1]
    assert last.startswith("error: ") and f"bad rows in {city}: nothing was imported" in last, again.stderr


def test_a_relative_sqlite_url_naming_no_file_gets_a_note_with_the_absolute_path(tmp_path):
    first = _hub(["--database-url", "sqlite:///var/hub.sqlite3", "token", "list"], tmp_path)
    assert first.returncode == 0, first.stderr
    notes = [ln for ln in _lines(first.stderr) if ln.startswith("note: ")]
    assert len(notes) == 1 and str(tmp_path / "var" / "hub.sqlite3") in notes[0], first.stderr
    assert "sqlite:////var/hub.sqlite3" in notes[0]  # how to say the absolute path meant
    again = _hub(["--database-url", "sqlite:///var/hub.sqlite3", "token", "list"], tmp_path)  # it exists now
    assert again.returncode == 0 and "note:" not in again.stderr, again.stderr
    absolute = _hub(["--database-url", f"sqlite:///{tmp_path / 'abs.sqlite3'}", "token", "list"], tmp_path)
    assert absolute.returncode == 0 and "note:" not in absolute.stderr, absolute.stderr
