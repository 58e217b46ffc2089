"""`hub up` as the s11 CLI review attacked it: `--port 0` (any free port) names the port it listens on, and a hub
killed with kill -9 — with two HTTP worker processes, the daily checks' subprocess and the embedded broker, on a
data folder whose path has a space and Chinese characters — starts again on the same folder (the one-per-store lock,
hub/cli.py `_hold_embedded_stores`, goes with the process: no child keeps it), then stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.hub_process import hub_executable


def _env(data: Path, **extra: str) -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    e.update({"HUB_DATA_DIR": str(data), "NO_COLOR": "1", "COLUMNS": "200", **extra})
    return e


def _start(data: Path, args: list[str], **extra: str) -> tuple[subprocess.Popen, str]:
    """`hub up` in its own session (kill -9 of it orphans its children, as in a terminal); its banner."""
    proc = subprocess.Popen([hub_executable(), "up", *args], env=_env(data, **extra), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, cwd=data.parent)
    banner = []
    for line in proc.stdout:
        banner.append(line)
        if "Ctrl-C stops." in line:
            return proc, "".join(banner)
    proc.wait(30)
    raise AssertionError(f"hub up exited with {proc.returncode}:\n{''.join(banner)}")


def _processes_of(data: Path) -> set[int]:
    """The processes started for this data folder (they inherit its HUB_DATA_DIR), wherever kill -9 left them."""
    mark = f"HUB_DATA_DIR={data}".encode()
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if mark in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                    found.add(int(entry))
            except OSError:
                continue
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _stop(proc: subprocess.Popen) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=60)[0]
    return proc.returncode, rest


def test_port_0_names_the_port_it_listens_on(tmp_path):
    data = tmp_path / "data"
    proc, banner = _start(data, ["--port", "0", "--connectors", "none"])
    try:
        [port] = re.findall(r"GraphQL: http://127\.0\.0\.1:(\d+)/graphql", banner)
        assert port != "0", banner
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        assert f"http://127.0.0.1:{port}/graphiql" in banner and ":0/" not in banner
    finally:
        rc, rest = _stop(proc)
    assert rc == 0 and rest.strip().splitlines()[-1] == "hub stopped", rest


def test_a_hub_killed_with_its_workers_and_broker_starts_again_on_the_same_folder(tmp_path):
    data = tmp_path / "数据 目录"
    proc, _ = _start(data, ["--port", "0", "--connectors", "none"], HUB_HTTP_WORKERS="2")
    try:
        deadline = time.monotonic() + 30
        while len(_processes_of(data) - {proc.pid}) < 4 and time.monotonic() < deadline:  # 2 workers, broker, checks
            time.sleep(0.2)
        assert len(_processes_of(data) - {proc.pid}) >= 4, _processes_of(data)
        workers = {pid for pid in _processes_of(data) if b"uvicorn" in _cmdline(pid) or b"spawn_main" in _cmdline(pid)}
        assert len(workers) >= 2, workers
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        deadline = time.monotonic() + 20  # the HTTP workers end with their parent (hub/api/app.py _exit_with_parent)
        while (workers & _processes_of(data)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not workers & _processes_of(data), [_cmdline(pid) for pid in workers & _processes_of(data)]
        again, banner = _start(data, ["--port", "0", "--connectors", "none"], HUB_HTTP_WORKERS="2")
        assert "2 HTTP worker processes" in banner
        rc, rest = _stop(again)
        assert rc == 0 and rest.strip().splitlines()[-1] == "hub stopped", rest
        assert (data / "hub-up.lock").exists() and (data / "hub.sqlite3.hub-up.lock").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _processes_of(data):  # what kill -9 left running (the workers, the broker in its own session)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_ctrl_c_while_the_banner_prints_stops_the_hub_as_asked(tmp_path):
    """A real SIGINT sent on "Ctrl-C stops." (test above, one run in three) landed in the banner's last print, outside
    the server's run: "hub stopped", then an error line and exit 130. Here the banner is interrupted every time."""
    block = ("import sys, hub.cli as c\n"
             "def ctrl_c(*a, **k):\n    raise KeyboardInterrupt\n"
             "c._next_steps = ctrl_c\n"
             "sys.argv = ['hub', 'up', '--port', '0', '--connectors', 'none']\n"
             "c.run()\n")
    data = tmp_path / "data"
    r = subprocess.run([sys.executable, "-c", block], env=_env(data), capture_output=True, text=True, timeout=120,
                       cwd=tmp_path)
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip() and not ln.startswith("{")]
    assert r.returncode == 0 and lines[-1] == "hub stopped", r.stdout + r.stderr
    assert not [ln for ln in lines if ln.startswith("error:")]


def test_ctrl_c_while_the_embedded_broker_starts_leaves_no_broker_running(monkeypatch):
    """The broker runs in its own session (a terminal's Ctrl-C does not reach it): interrupted while `hub up` waited
    for its port, it was left running, an orphan, for good."""
    from hub.adapters import embedded_broker

    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(embedded_broker.subprocess, "Popen", popen)
    monkeypatch.setattr(embedded_broker.socket, "create_connection", ctrl_c)
    try:
        with pytest.raises(KeyboardInterrupt):
            embedded_broker.EmbeddedBroker().start()
        assert len(started) == 1 and started[0].poll() is not None
    finally:
        for p in started:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_ctrl_c_before_the_server_loop_runs_says_hub_stopped_and_nothing_after(tmp_path):
    """A real SIGINT right after the banner (one run in three) landed while uvicorn made its event loop: "hub stopped",
    then two lines of RuntimeWarning (coroutine 'Server.serve' was never awaited). Here the loop's making is
    interrupted every time."""
    block = ("import asyncio, sys, hub.cli as c\n"
             "def ctrl_c(*a, **k):\n    raise KeyboardInterrupt\n"
             "asyncio.Runner._lazy_init = ctrl_c\n"
             "sys.argv = ['hub', 'up', '--port', '0', '--connectors', 'none']\n"
             "c.run()\n")
    r = subprocess.run([sys.executable, "-c", block], env=_env(tmp_path / "data"), capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip() and not ln.startswith("{")]
    assert r.returncode == 0 and lines[-1] == "hub stopped", r.stdout + r.stderr
    assert "RuntimeWarning" not in r.stderr
