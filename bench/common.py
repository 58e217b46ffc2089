"""Helpers shared by the benchmarks: a scratch PostgreSQL database, timing and peak memory of a command."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get("HUB_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
HUB = str(Path(sys.executable).parent / "hub")


@contextmanager
def scratch_postgres(prefix: str = "hub_bench"):
    """A fresh empty PostgreSQL database, dropped afterwards; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# Runs the command as its child and reports the child's peak RSS and wall time through the pipe whose file
# descriptor is its first argument. The measuring process is a small interpreter (-S, ~9 MiB): a child forked
# straight from the benchmark starts with the benchmark's own resident pages, and Linux keeps their count as the
# child's peak RSS when it execs — the benchmark's size, not the command's (bench numbers before 2026-11-28
# session 5 were such upper bounds).
_MEASURE = """
import os, sys, time
t0 = time.perf_counter()
fd = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.close(fd)
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
os.write(fd, b"%d %.6f" % (usage.ru_maxrss, time.perf_counter() - t0))
sys.exit(os.waitstatus_to_exitcode(status) & 255)
"""


def run_measured(args: list[str], env: dict | None = None) -> tuple[float, int, subprocess.CompletedProcess]:
    """Run a command; return (wall seconds, peak RSS of the command alone in MiB, result)."""
    import threading

    rd, wr = os.pipe()
    proc = subprocess.Popen([sys.executable, "-S", "-c", _MEASURE, str(wr), *args], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(wr,))
    os.close(wr)
    chunks: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda n=n, f=f: chunks.__setitem__(n, f.read())) for n, f in (("out", proc.stdout), ("err", proc.stderr))]
    for t in readers:
        t.start()
    proc.wait()
    for t in readers:
        t.join()
    with os.fdopen(rd, "rb") as f:
        report = f.read().split()
    out, err = chunks["out"].decode("utf-8", "replace"), chunks["err"].decode("utf-8", "replace")
    r = subprocess.CompletedProcess(args, proc.returncode, out, err)
    if proc.returncode != 0 or len(report) != 2:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{out}\n{err}")
    return float(report[1]), int(report[0]) // 1024, r


def machine(url: str | None = None) -> dict:
    """What the numbers were measured on: CPUs, memory, Python and (given a database URL) the PostgreSQL server."""
    info: dict = {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu_model"] = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
        with open("/proc/meminfo") as f:
            info["memory_mib"] = int(f.readline().split()[1]) // 1024
    except OSError:
        pass
    if url:
        eng = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with eng.connect() as c:
                info["postgres"] = c.execute(text("SHOW server_version")).scalar()
        finally:
            eng.dispose()
    return info


def children_cpu_s() -> float:
    """User + system CPU seconds of this process's finished children so far (take the difference around a run)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


@contextmanager
def backend_cpu(url: str, interval: float = 0.1):
    """CPU seconds of the PostgreSQL backends serving the database of ``url`` while the block runs.

    Yields a dict that holds ``{"backend_cpu_s": seconds}`` afterwards (None when the server's processes cannot
    be read: it is not on this machine, or /proc is not there). Samples every ``interval`` s, so a backend that
    lives shorter than that may be missed; an import's backend lives for the whole import.
    """
    import threading

    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    tick = os.sysconf("SC_CLK_TCK")
    seen: dict[int, float] = {}
    readable = [True]
    stop = threading.Event()

    def sample(c) -> None:
        pids = c.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": name}).scalars()
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                seen[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            except OSError:
                readable[0] = False

    def poll() -> None:
        with admin.connect() as c:
            while not stop.wait(interval):
                sample(c)

    out: dict = {}
    t = threading.Thread(target=poll, daemon=True)
    t.start()
    try:
        yield out
    finally:
        stop.set()
        t.join()
        admin.dispose()
        out["backend_cpu_s"] = round(sum(seen.values()), 2) if seen and readable[0] else None
