"""Synthetic partner events for a demo city: the four departments' views of its people, mostly agreeing with
the registry, with a planted share of disagreements (each planted one names the mismatch kind it should raise).

Used by `hub demo` (streamed to the broker), by the crash and outage tests and by the benchmarks.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from hub.adapters.csv_rows import read_records
from hub.domain.identifiers import make_id_number

TOPIC_OF_SOURCE = {"police": "police.identity.v1", "hr": "hr.employment.v1", "finance": "finance.payroll.v1",
                   "insurance": "insurance.contribution.v1"}


@dataclass
class EventPlan:
    events: list[dict] = field(default_factory=list)  # in production order
    planted: dict[str, set[str]] = field(default_factory=dict)  # mismatch kind → subjects


def _event(rng: random.Random, source: str, type_: str, subject: str, seq: int, data: dict) -> dict:
    return {"specversion": "1.0", "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "source": f"/gov/{source}",
            "type": type_, "time": "2026-11-01T08:00:00Z", "subject": subject, "sequence": seq,
            "datacontenttype": "application/json", "data": data}


def plan_events(city_dir: Path, count: int, *, seed: int = 1, anomalies: float = 0.01, period: str = "2026-10",
                sequence_base: int = 0) -> EventPlan:
    """About ``count`` events over the city's posted persons (police, HR, payroll, insurance per person).

    Sequences start after ``sequence_base``: a later stream over the same city (`hub demo --stream-only`) gives a
    higher base, so the hub takes its events as newer than an earlier stream's, not as stale."""
    rng = random.Random(seed)
    def read(name: str, *columns: str) -> list[dict[str, str]]:
        return read_records((city_dir / name).read_text(encoding="utf-8"), name, columns)

    persons = {r["id_number"]: r for r in read("persons.csv", "id_number", "name", "gender", "birth_date")}
    postings = {r["id_number"]: r for r in read("postings.csv", "id_number", "unit_code", "start_date")}
    units = [r["code"] for r in read("units.csv", "code")]
    posted = sorted(postings)
    rng.shuffle(posted)
    plan = EventPlan()
    seqs: dict[tuple[str, str], int] = {}

    def add(source, type_, idn, data):
        k = (source, idn)
        seqs[k] = seqs.get(k, sequence_base) + 1
        plan.events.append(_event(rng, source, type_, idn, seqs[k], data))

    def plant(kind, idn):
        plan.planted.setdefault(kind, set()).add(idn)

    i = 0
    while len(plan.events) < count and i < len(posted):
        idn = posted[i]
        i += 1
        p, post = persons[idn], postings[idn]
        unit = post["unit_code"]
        name = p["name"]
        other = rng.choice([u for u in units[:50] if u != unit] or units)
        roll = rng.random()
        a = anomalies
        police_name, police_status = name, "ALIVE"
        hr_unit, hr_status = unit, "EMPLOYED"
        pay_units = [unit]
        ins_employer = unit
        if roll < a:
            police_name = name[0] + ("晓" if name[-1] != "晓" else "明")
            plant("NAME_MISMATCH", idn)
        elif roll < 2 * a:
            police_status = "DECEASED"
            plant("DECEASED_ACTIVE", idn)
        elif roll < 3 * a:
            pay_units = [other]
            plant("PAYROLL_UNIT_MISMATCH", idn)
        elif roll < 4 * a:
            pay_units = [unit, other]
            plant("DOUBLE_PAYROLL", idn)
            plant("PAYROLL_UNIT_MISMATCH", idn)
        elif roll < 5 * a:
            ins_employer = other
            plant("INSURANCE_EMPLOYER_MISMATCH", idn)
        elif roll < 6 * a:
            hr_status = "RETIRED"
            plant("HR_STATUS_CONFLICT", idn)
        elif roll < 7 * a:
            hr_unit = other
            plant("HR_UNIT_MISMATCH", idn)
        add("police", "gov.police.identity.updated", idn, {"id_number": idn, "name": police_name, "gender": p["gender"],
            "birth_date": p["birth_date"], "status": police_status})
        add("hr", "gov.hr.employment.updated", idn, {"id_number": idn, "name": name, "unit_code": hr_unit,
            "status": hr_status, "effective_date": post["start_date"]})
        for u in pay_units:
            add("finance", "gov.finance.payroll.paid", idn, {"id_number": idn, "name": name, "unit_code": u,
                "period": period, "gross_amount": f"{rng.randint(6000, 16000)}.00"})
        add("insurance", "gov.insurance.contribution.recorded", idn, {"id_number": idn, "name": name,
            "employer_code": ins_employer, "period": period, "base_amount": f"{rng.randint(5000, 12000)}.00",
            "status": "ACTIVE"})
        if rng.random() < a:  # ghost pay: someone unknown to the registry on the payroll
            ghost = make_id_number("330106", date(1980 + rng.randrange(20), 1 + rng.randrange(12), 1 + rng.randrange(28)),
                                   rng.randrange(100), rng.random() < 0.5)
            if ghost not in persons:
                add("finance", "gov.finance.payroll.paid", ghost, {"id_number": ghost, "name": "钱某", "unit_code": unit,
                    "period": period, "gross_amount": "7000.00"})
                plant("GHOST_PAYROLL", ghost)
    return plan


def key_of(event: dict) -> str:
    return event["data"]["id_number"]


def topic_of(event: dict) -> str:
    return TOPIC_OF_SOURCE[event["source"].rsplit("/", 1)[-1]]


def stream_events(bootstrap: str, events: list[dict], *, topic_prefix: str = "", rate: float = 200.0,
                  progress=None, stop_event=None) -> int:
    """Produce partner events to their topics at about ``rate`` per second (as the departments would)."""
    import json
    import time

    from hub.adapters import kafka as kafka_adapter

    p = kafka_adapter.producer(bootstrap)
    sent = 0
    started = time.monotonic()
    try:
        for e in events:
            if stop_event is not None and stop_event.is_set():
                break
            p.send(topic_prefix + topic_of(e), key=key_of(e).encode(), value=json.dumps(e, ensure_ascii=False).encode("utf-8"))
            sent += 1
            if rate > 0:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
            if progress and sent % 100 == 0:
                progress(sent)
        p.flush(30)
    finally:
        p.close(5)
    if progress:
        progress(sent)
    return sent
