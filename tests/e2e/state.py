"""Snapshot of a hub database's registry, partner views and mismatch state, for comparing runs."""

from __future__ import annotations

import json

from sqlalchemy import text

from hub.adapters.database import connect


def snapshot(url: str, prefix: str | None = None) -> dict:
    db = connect(url)
    try:
        with db.read_engine.connect() as c:
            q = lambda sql: sorted(tuple(str(x) for x in r) for r in c.execute(text(sql)))  # noqa: E731
            return {
                "identity": q("SELECT id_number, name, gender, birth_date, status, photo_sha256 FROM partner_identity"),
                "employment": q("SELECT id_number, name, unit_code, status, effective_date, rank FROM partner_employment"),
                "payroll": q("SELECT id_number, unit_code, period, name, gross_amount, paid FROM partner_payroll"),
                "insurance": q("SELECT id_number, name, employer_code, period, base_amount, status FROM partner_insurance"),
                "persons": q("SELECT id_number, name, verified_name, identity_status FROM persons"),
                "postings": q("SELECT id_number, unit_code, category, active FROM postings"),
                "open_mismatches": sorted((k, s, u, json.dumps(json.loads(d), sort_keys=True)) for k, s, u, d in c.execute(
                    text("SELECT kind, subject, unit_code, details FROM mismatches WHERE status = 'OPEN'"))),
                "applied": q("SELECT source, event_id FROM applied_events"),
                "registry_events": q("SELECT value::json->>'type', count(*) FROM outbox"
                                     " WHERE topic = 'registry.updates.v1' GROUP BY 1"),
            }
    finally:
        db.dispose()


def consumed(url: str) -> int:
    db = connect(url)
    try:
        with db.read_engine.connect() as c:
            return c.execute(text("SELECT COALESCE(SUM(next_offset), 0) FROM consumer_offsets")).scalar() or 0
    finally:
        db.dispose()


def outbox_backlog(url: str) -> int:
    db = connect(url)
    try:
        with db.read_engine.connect() as c:
            return c.execute(text("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")).scalar()
    finally:
        db.dispose()
