"""Run `hub` as a subprocess, the way a user would."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from hub.adapters.embedded_broker import free_port


def hub_executable() -> str:
    exe = Path(sys.executable).parent / "hub"
    return str(exe) if exe.exists() else shutil.which("hub")


class HubProcess:
    """`hub up` in a subprocess with its own data dir and port; stopped with Ctrl-C (SIGINT)."""

    def __init__(self, data_dir: Path, env: dict | None = None, args: list[str] | None = None):
        self.port = free_port()
        self.data_dir = data_dir
        self.env = {**os.environ, "HUB_DATA_DIR": str(data_dir), "HUB_HTTP_PORT": str(self.port),
                    "HUB_HTTP_HOST": "127.0.0.1", **(env or {})}
        for k in ("HUB_DATABASE_URL", "HUB_KAFKA_BOOTSTRAP_SERVERS"):
            if k not in (env or {}):
                self.env.pop(k, None)
        self.args = args or []
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-hub-up.log"  # the data dir itself is created by the hub

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "HubProcess":
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([hub_executable(), "up", *self.args], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub up exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"hub up did not answer /healthz in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run another `hub` command against the same configuration."""
        return subprocess.run([hub_executable(), *args], env=self.env, capture_output=True, text=True, check=check, timeout=300)

    def kill(self) -> None:
        """kill -9: no shutdown of any kind."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self, timeout: float = 30) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()
        return self.proc.returncode
