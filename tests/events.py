"""Builders of partner CloudEvents (contract section 4) for tests and benchmarks."""

from __future__ import annotations

import itertools
import json
import uuid

_seq = itertools.count(1)

TOPICS = {"police": "police.identity.v1", "hr": "hr.employment.v1", "finance": "finance.payroll.v1",
          "insurance": "insurance.contribution.v1"}


def envelope(source: str, type_: str, subject: str, data: dict, *, sequence: int | None = None, event_id: str | None = None) -> dict:
    ev = {"specversion": "1.0", "id": event_id or str(uuid.uuid4()), "source": f"/gov/{source}", "type": type_,
          "time": "2026-11-01T08:00:00Z", "subject": subject, "datacontenttype": "application/json", "data": data}
    ev["sequence"] = next(_seq) if sequence is None else sequence
    return ev


def police(idn: str, name: str, *, status: str = "ALIVE", **kw) -> dict:
    from hub.domain.identifiers import parse_id_number

    p = parse_id_number(idn)
    return envelope("police", "gov.police.identity.updated", p.value, {
        "id_number": p.value, "name": name, "gender": p.gender, "birth_date": p.birth_date.isoformat(), "status": status}, **kw)


def hr(idn: str, name: str, unit: str, *, status: str = "EMPLOYED", rank: str | None = None, **kw) -> dict:
    return envelope("hr", "gov.hr.employment.updated", idn, {
        "id_number": idn, "name": name, "unit_code": unit, "status": status, "effective_date": "2026-10-01",
        **({"rank": rank} if rank is not None else {})}, **kw)


def paid(idn: str, name: str, unit: str, period: str = "2026-10", amount: str = "8650.00", **kw) -> dict:
    return envelope("finance", "gov.finance.payroll.paid", idn, {
        "id_number": idn, "name": name, "unit_code": unit, "period": period, "gross_amount": amount}, **kw)


def stopped(idn: str, unit: str, period: str = "2026-10", **kw) -> dict:
    return envelope("finance", "gov.finance.payroll.stopped", idn, {"id_number": idn, "unit_code": unit, "period": period}, **kw)


def contribution(idn: str, name: str, employer: str, period: str = "2026-10", status: str = "ACTIVE", **kw) -> dict:
    return envelope("insurance", "gov.insurance.contribution.recorded", idn, {
        "id_number": idn, "name": name, "employer_code": employer, "period": period, "base_amount": "7000.00", "status": status}, **kw)


def topic_of(event: dict) -> str:
    return TOPICS[event["source"].rsplit("/", 1)[-1]]


def encode(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


def translated(event: dict):
    """The event as the connector of its type's department translates it: an InboundEvent (a Rejected fails)."""
    from hub.contract.inbound import InboundEvent
    from connectors.spec import all_connectors

    [connector] = [c for c in all_connectors().values() if event["type"] in c.types]
    out = connector.translate(encode(event))
    assert isinstance(out, InboundEvent), out
    return out
