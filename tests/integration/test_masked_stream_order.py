"""Issue 12, item 1: a masked subscriber receives one committed change's mismatches in mismatch-id (random) order,
however many there are. Before, `mismatchEvents` handed on a change larger than the subscription's batch in
outbox-order slices — the order of the ID numbers — so the slice boundaries told a MONITOR which masked numbers
sort before which."""

from __future__ import annotations

import asyncio
import csv
from datetime import date

from hub.api import schema as schema_module
from hub.api.build import build_schema
from hub.api.context import HubContext
from hub.domain.identifiers import parse_id_number
from hub.service_layer.comparison.pipeline import run_compare
from hub.service_layer.tokens import authenticate, create_token
from tests.integration.registry_helpers import make_person

PERSONS = 8


async def _stream(db, principal, change) -> list[dict]:
    stream = await build_schema().subscribe("subscription { mismatchEvents { id kind subject } }",
                                            context_value=HubContext(db, principal))
    seen: list[dict] = []

    async def collect():
        async for r in stream:
            assert not r.errors, r.errors
            seen.append(r.data["mismatchEvents"])

    task = asyncio.create_task(collect())
    await asyncio.sleep(0.3)  # the subscription has read where the outbox ends
    await asyncio.to_thread(change)
    for _ in range(50):
        await asyncio.sleep(0.2)
        if len(seen) >= PERSONS:
            break
    task.cancel()
    return seen


def test_a_change_larger_than_a_batch_reaches_a_masked_subscriber_in_mismatch_id_order(db, tmp_path, monkeypatch):
    monkeypatch.setattr(schema_module, "BATCH_MAX", 2)
    monkeypatch.setattr(schema_module, "OUTBOX_PAGE", 2)
    sorted(make_person(db, birth=date(1960 + i, 3, 4), name=f"人{i}") for i in range(PERSONS))
    known = make_person(db, birth=date(1990, 1, 1), name="李四")
    snapshot = tmp_path / "police.csv"
    with snapshot.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id_number", "name", "gender", "birth_date", "status"])
        w.writerow([known, "李四", parse_id_number(known).gender, parse_id_number(known).birth_date.isoformat(), "ALIVE"])
    principal = authenticate(db, create_token(db, role="MONITOR", name="monitor")[1])
    # one change: every registered person police do not know is IDENTITY_UNKNOWN, announced in ID-number order
    seen = asyncio.run(_stream(db, principal, lambda: run_compare(db, source="police", period="2026-10", path=snapshot)))
    assert len(seen) == PERSONS and {m["kind"] for m in seen} == {"IDENTITY_UNKNOWN"}
    assert [m["id"] for m in seen] == sorted(m["id"] for m in seen)
