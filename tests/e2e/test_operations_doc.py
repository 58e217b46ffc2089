"""docs/operations.md walked through with its own commands against a real `hub up` (embedded broker, SQLite):
back up while running, rotate a token, read the metrics, look at and replay a dead letter, stop, restore."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.e2e.hub_process import HubProcess
from tests.kafka_tools import PartnerProducer
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def walk_blocks() -> dict[str, str]:
    """The ```bash blocks of docs/operations.md marked ``# walk: NAME``, by name."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    blocks = {}
    for body in re.findall(r"```bash\n(.*?)```", text, re.S):
        m = re.match(r"# walk: (\S+)\n", body)
        if m:
            blocks[m.group(1)] = body[m.end():]
    return blocks


def test_the_operations_guide_works_as_written(tmp_path):
    blocks = walk_blocks()
    assert list(blocks) == ["backup-sqlite", "restore-sqlite", "backup-postgres", "restore-postgres", "rotate-token",
                            "metrics", "deadletters"]
    work = tmp_path / "work"
    work.mkdir()
    hub = HubProcess(work / ".hub-data").start(timeout=120)  # the documented commands run in work/ (.hub-data)
    hub.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{hub.env['PATH']}"
    bootstrap = re.search(r"Kafka bootstrap servers: (\S+)", hub.output()).group(1)

    def bash(name: str, **replace: str) -> str:
        script = blocks[name]
        for old, new in replace.items():
            script = script.replace(old, new)
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=hub.env, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, f"{name}:\n{script}\n{r.stdout}\n{r.stderr}"
        return r.stdout + r.stderr

    try:
        old = hub.run("token", "create", "--role", "FINANCE", "--name", "财政局 对接").stdout.strip()
        graphql = lambda token: httpx.post(hub.url + "/graphql", json={"query": "{ units(first: 1) { totalCount } }"},  # noqa: E731
                                           headers={"Authorization": f"Bearer {token}"})
        assert graphql(old).status_code == 200

        bash("backup-sqlite")  # online, while the hub runs
        assert (work / "backups" / "hub-backup.sqlite3").stat().st_size > 0

        out = bash("rotate-token", OLD_ID="1")
        new = next(ln.strip() for ln in out.splitlines() if ln.startswith("hub_"))
        assert "token 1 revoked" in out and "(new)" in out
        wait_until(lambda: graphql(old).status_code == 401, 15, "the revoked token refused")
        assert graphql(new).status_code == 200

        producer = PartnerProducer(bootstrap)
        producer.send("police.identity.v1", "330106198506150017", b"{not json")
        producer.flush()
        letters = lambda *a: json.loads(hub.run("deadletter", "list", "--json", *a).stdout)  # noqa: E731
        wait_until(lambda: letters(), 60, "the dead letter")
        assert "not valid JSON" in letters()[0]["reason"]
        metrics = bash("metrics", **{"127.0.0.1:8000": f"127.0.0.1:{hub.port}"})
        assert re.search(r'^hub_connector_deadlettered_total\{connector="police"\} 1(\.0)?$', metrics, re.M), metrics
        assert re.search(r"^hub_outbox_backlog \d", metrics, re.M), metrics

        out = bash("deadletters", **{"127.0.0.1:9092": bootstrap})
        assert "would replay 1 dead letters: 1" in out and "replayed 1 dead letters: 1" in out, out
        # the replayed message is read again by the police connector and rejected again: a second dead letter
        wait_until(lambda: len(letters("--all")) == 2 and [d["id"] for d in letters()] == [2], 60,
                   "the replayed message rejected again")
    finally:
        assert hub.stop() == 0, hub.output()

    bash("restore-sqlite")  # the hub is stopped: back to the state of the backup
    listed = subprocess.run([sys.executable, "-m", "hub.cli", "token", "list"], cwd=work, env=hub.env,
                            capture_output=True, text=True, timeout=60).stdout
    assert "财政局 对接" in listed and "(new)" not in listed  # the token made after the backup is gone


def test_the_postgresql_backup_and_restore_commands_bring_back_the_state_of_the_backup(pg_url, tmp_path):
    blocks = walk_blocks()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HUB_")}, "HUB_DATABASE_URL": pg_url, "COLUMNS": "200",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def run(*args: str) -> str:
        r = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{args}:\n{r.stdout}\n{r.stderr}"
        return r.stdout

    run("hub", "token", "create", "--role", "AUDITOR", "--name", "before the backup")
    run("bash", "-euo", "pipefail", "-c", blocks["backup-postgres"])
    run("hub", "token", "create", "--role", "AUDITOR", "--name", "after the backup")
    run("bash", "-euo", "pipefail", "-c", blocks["restore-postgres"])
    listed = run("hub", "token", "list")
    assert "before the backup" in listed and "after the backup" not in listed
    assert "entries verified" in run("hub", "audit", "verify")  # the operation log's chain survived the round trip
