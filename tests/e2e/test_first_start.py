"""What a newcomer meets first: `hub up`'s banner and next steps, quiet human-readable output at a terminal (JSON
otherwise or when asked), `hub up --demo` on a registry that is not empty, and `hub demo --stream-only` against a
running hub — the way the no-broker hint says."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

from hub.adapters.embedded_broker import free_port
from tests.e2e.hub_process import HubProcess, hub_executable


def _env(data_dir: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_DATA_DIR": str(data_dir), "HUB_HTTP_PORT": str(free_port()), "TERM": "xterm", **extra})
    return env


def _up_in_a_terminal(env: dict, *args: str, settle_s: float = 4.0) -> str:
    """`hub up` with stdout and stderr on a pseudo-terminal until its banner is out and a few seconds more; Ctrl-C."""
    main, child = pty.openpty()
    proc = subprocess.Popen([hub_executable(), "up", *args], stdin=child, stdout=child, stderr=child, env=env,
                            close_fds=True)
    os.close(child)
    out = b""
    deadline, banner_at = time.monotonic() + 120, None
    try:
        while time.monotonic() < deadline:
            if banner_at and time.monotonic() > banner_at + settle_s:
                break
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # the child closed the terminal
                    break
                out += chunk
                if banner_at is None and b"Ctrl-C stops" in out:
                    banner_at = time.monotonic()
            elif proc.poll() is not None:
                break
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            while True:  # drain until the terminal closes (the child's output after Ctrl-C)
                ready, _, _ = select.select([main], [], [], 1)
                if not ready:
                    break
                chunk = os.read(main, 65536)
                if not chunk:
                    break
                out += chunk
        except OSError:
            pass
        proc.wait(60)
        os.close(main)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode("utf-8", "replace")).replace("\r", "")
    assert banner_at, text
    return text


def test_hub_up_at_a_terminal_prints_a_quiet_banner_with_the_next_steps(tmp_path):
    env = _env(tmp_path / "data")
    text = _up_in_a_terminal(env)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert not [ln for ln in lines if ln.lstrip().startswith("{")], text  # no JSON log lines
    assert "Running upgrade" not in text and "alembic" not in text and "blocking the event loop" not in text, text
    assert "Traceback" not in text
    port = env["HUB_HTTP_PORT"]
    assert "hub token create --role ADMIN --name me" in text
    assert f"http://127.0.0.1:{port}/graphiql" in text and "hub up --demo" in text
    assert f"http://127.0.0.1:{port}/dashboard" in text  # the office staff's page
    # the command as it must be typed: `hub` only when that name on PATH is this program (a fresh `bash
    # scripts/up.sh` leaves it in .venv/bin, off PATH: a bare `hub` would be "command not found")
    exe, on_path = Path(hub_executable()), shutil.which("hub", path=env.get("PATH"))
    typed = "hub" if on_path and os.path.realpath(on_path) == os.path.realpath(exe) else str(exe.resolve())
    assert f"make a token:   {typed} token create --role ADMIN --name me" in text, text
    assert "hub stopped" in text


def test_json_logs_when_asked_at_a_terminal_and_when_not_at_a_terminal(tmp_path):
    text = _up_in_a_terminal(_env(tmp_path / "asked", HUB_LOG_FORMAT="json"), "--connectors", "none", settle_s=1)
    assert re.search(r'^\{"time": .*"logger": "alembic\.runtime\.migration"', text, re.M), text
    hub = HubProcess(tmp_path / "piped", args=["--connectors", "none"]).start()  # stdout/stderr to a file
    try:
        out = hub.output()
    finally:
        assert hub.stop() == 0
    assert re.search(r'^\{"time": .*"logger": "alembic\.runtime\.migration"', out, re.M), out


def test_demo_on_a_loaded_registry_is_skipped_with_the_reason_and_stream_only_feeds_the_running_hub(tmp_path):
    data = tmp_path / "data"
    env = _env(data)
    run = lambda *a: subprocess.run([hub_executable(), *a], env=env, capture_output=True, text=True, timeout=300)  # noqa: E731
    # No broker configured: the demo imports and names the stream-only mode for the hub that will run.
    first = run("demo", "--persons", "400")
    assert first.returncode == 0, first.stderr
    assert "hub demo --stream-only --bootstrap HOST:PORT" in first.stdout.replace("\n", " "), first.stdout
    city = next((data / "demo-city").iterdir())
    before = {p.name: p.stat().st_mtime_ns for p in city.iterdir()}
    # A second full demo on the loaded registry is refused before it writes anything.
    again = run("demo", "--persons", "400")
    assert again.returncode == 1 and "already holds 400 persons" in again.stderr and "--stream-only" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in city.iterdir()} == before

    hub = HubProcess(data, args=["--demo"]).start(timeout=120)
    try:
        banner = hub.output()
        assert "--demo skipped: the registry already holds 400 persons" in banner, banner
        bootstrap = re.search(r"Kafka bootstrap servers: (\S+)", banner).group(1)
        assert f"demo --stream-only --bootstrap {bootstrap}" in banner
        streamed = hub.run("demo", "--stream-only", "--bootstrap", bootstrap, "--events", "400", "--rate", "2000")
        said = " ".join(streamed.stdout.split())
        assert re.search(r"streamed \d+ partner events; planted: ", said), streamed.stdout + streamed.stderr
        planted = set(re.findall(r"([A-Z_]{6,}) \d+", said))  # the mismatch kinds the stream plants
        assert planted, said
        token = hub.run("token", "create", "--role", "MONITOR", "--name", "newcomer").stdout.strip()
        deadline, kinds = time.monotonic() + 90, set()
        while time.monotonic() < deadline and not planted <= kinds:
            r = httpx.post(hub.url + "/graphql", json={"query": "{ mismatchStats { byKind { key count } } }"},
                           headers={"Authorization": f"Bearer {token}"}).json()
            kinds = {c["key"] for c in r["data"]["mismatchStats"]["byKind"]}
            time.sleep(1)
        assert planted <= kinds, (planted, kinds)
        # a second stream over the same city is newer again: its events are applied, not taken as duplicates
        applied_before = httpx.get(hub.url + "/metrics").text
        again = hub.run("demo", "--stream-only", "--bootstrap", bootstrap, "--events", "50", "--rate", "2000")
        assert "streamed" in again.stdout, again.stdout + again.stderr

        def applied(metrics: str) -> float:
            return sum(float(v) for v in re.findall(r"^hub_connector_applied_total\{[^}]*\} (\S+)$", metrics, re.M))

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and applied(httpx.get(hub.url + "/metrics").text) < applied(applied_before) + 50:
            time.sleep(0.5)
        assert applied(httpx.get(hub.url + "/metrics").text) >= applied(applied_before) + 50
    finally:
        assert hub.stop() == 0, hub.output()
    assert {p.name: p.stat().st_mtime_ns for p in city.iterdir()} == before  # the running demo's files untouched


def test_demo_csvs_are_kept_per_database(tmp_path):
    env = _env(tmp_path / "data")
    for db in ("a", "b"):
        r = subprocess.run([hub_executable(), "--database-url", f"sqlite:///{tmp_path / db}.sqlite3", "demo", "--persons",
                            "50", "--csv-only", "--seed", "1" if db == "a" else "2"], env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    folders = sorted((tmp_path / "data" / "demo-city").iterdir())
    assert [f.name.split("-")[0] for f in folders] == ["a.sqlite3", "b.sqlite3"]
    assert (folders[0] / "persons.csv").read_bytes() != (folders[1] / "persons.csv").read_bytes()
