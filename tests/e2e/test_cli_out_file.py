"""`hub report --out` and `hub supervision pack --out` when the file cannot be written whole (a full disk; here the
process's file-size limit, RLIMIT_FSIZE, which fails the write the same way): one line, exit 1, no access-log entry
for persons nobody received, the earlier file as it was and no hidden part-file left. The s11 review found a
traceback, the reads logged and the earlier report cut to the limit. PostgreSQL: the limit does not touch the
server's files (an SQLite database would hit it itself)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from hub.adapters.database import connect
from hub.cli import app
from hub.demo.city import generate_city

HUB = [sys.executable, "-m", "hub.cli"]


def _access_log(url: str) -> int:
    db = connect(url)
    try:
        with db.read_engine.connect() as c:
            return c.execute(text("SELECT count(*) FROM access_log")).scalar_one()
    finally:
        db.dispose()


def _limited(args, cwd: Path, limit: int | None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_DATA_DIR": str(cwd / "data"), "NO_COLOR": "1"})

    def cap():
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(HUB + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, preexec_fn=cap)


def _city(pg_url: str, tmp_path: Path) -> None:
    generate_city(tmp_path / "city", 400)
    assert CliRunner().invoke(app, ["--database-url", pg_url, "import", str(tmp_path / "city")]).exit_code == 0


def _say_one_line_and_change_nothing(r, out: Path, before: bytes, pg_url: str, logged: int) -> None:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("{")]
    assert r.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    assert _access_log(pg_url) == logged  # no reads for a file nobody received
    assert out.read_bytes() == before  # the earlier file as it was, not cut off
    assert [p.name for p in out.parent.iterdir() if p.name.endswith(".part")] == []


def test_a_report_that_cannot_be_written_whole_logs_no_reads_and_keeps_the_earlier_file(pg_url, tmp_path):
    _city(pg_url, tmp_path)
    out = tmp_path / "retirements.csv"
    args = ["--database-url", pg_url, "report", "retirements-due", "--param", "months=120", "--format", "csv",
            "--out", str(out)]
    whole = _limited(args, tmp_path, None)
    assert whole.returncode == 0 and len(out.read_bytes()) > 2048, whole.stderr
    logged = _access_log(pg_url)
    assert logged > 0  # the report shows persons: its reads are logged
    before = out.read_bytes()
    _say_one_line_and_change_nothing(_limited(args, tmp_path, 1024), out, before, pg_url, logged)


def test_a_pack_that_cannot_be_written_whole_logs_no_reads_and_keeps_the_earlier_file(pg_url, tmp_path):
    _city(pg_url, tmp_path)
    out = tmp_path / "pack.html"
    out.write_bytes(b"the pack of last year")
    region = next(ln.split(",")[4] for i, ln in enumerate((tmp_path / "city" / "units.csv").read_text(encoding="utf-8").splitlines()) if i == 1)
    args = ["--database-url", pg_url, "supervision", "pack", "--region", region, "--for", "audit", "--format", "html",
            "--out", str(out)]
    logged = _access_log(pg_url)
    _say_one_line_and_change_nothing(_limited(args, tmp_path, 1024), out, b"the pack of last year", pg_url, logged)
    whole = _limited(args, tmp_path, None)
    assert whole.returncode == 0 and len(out.read_bytes()) > 1024 and _access_log(pg_url) > logged, whole.stderr


def test_a_rewritten_report_keeps_the_earlier_files_permissions(pg_url, tmp_path):
    _city(pg_url, tmp_path)
    out = tmp_path / "r.csv"
    out.write_bytes(b"old")
    out.chmod(0o600)  # a file of ID numbers the operator kept private
    r = _limited(["--database-url", pg_url, "report", "retirements-due", "--param", "months=120", "--format", "csv",
                  "--out", str(out)], tmp_path, None)
    assert r.returncode == 0 and out.read_bytes() != b"old", r.stderr
    assert out.stat().st_mode & 0o777 == 0o600
