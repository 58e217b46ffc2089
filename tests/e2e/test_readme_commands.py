"""The README's install-and-run command (`bash scripts/up.sh`) starts the hub on embedded defaults."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from hub.adapters.embedded_broker import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_readme_names_the_two_commands_and_up_sh_serves_healthz(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "bash scripts/up.sh" in readme and "bash scripts/test.sh" in readme
    port = free_port()
    env = {**os.environ, "HUB_DATA_DIR": str(tmp_path / "data"), "HUB_HTTP_PORT": str(port)}
    env.pop("HUB_DATABASE_URL", None)
    env.pop("HUB_KAFKA_BOOTSTRAP_SERVERS", None)
    log = open(tmp_path / "up.log", "wb")
    proc = subprocess.Popen(["bash", "scripts/up.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "up.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise AssertionError("scripts/up.sh did not serve /healthz:\n" + (tmp_path / "up.log").read_text())
        out = (tmp_path / "up.log").read_text()
        assert re.search(r"GraphQL: http://127\.0\.0\.1:\d+/graphql", out) and "embedded Tansu broker" in out
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(60)
        log.close()
    assert proc.returncode == 0, (tmp_path / "up.log").read_text()
