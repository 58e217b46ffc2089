"""Session 9 A/B: PostgreSQL backend CPU of ``write_reads`` (the access log's write: seal, chain head, reads) for a
units page's 1,900 reads and for one lookup's read, on a database already holding ~2 million reads.

Run it with the tree to measure on PYTHONPATH (the old tree writes one row per read, the new one batches); each run
fills its database once (``--fill``) and then writes, reading the CPU of its one pooled connection's backend from
/proc/<pid>/stat around each call:

    PYTHONPATH=/tmp/base python bench/access_log_write_ab.py --db s9_ab_old --fill
    PYTHONPATH=. python bench/access_log_write_ab.py --db s9_ab_new --fill
    (then alternate the two without --fill, several times)"""

from __future__ import annotations

import argparse
import json
import os
import random

import psycopg

from hub.adapters.database import connect, migrate
from hub.api.access import write_reads
from hub.domain.vocabulary import Role
from hub.service_layer.tokens import Principal

PAGE, PERSONS = 1900, 20000


def cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def fill(url: str, db: str, groups: int, singles: int) -> None:
    with psycopg.connect(url + "/postgres", autocommit=True) as a:
        a.execute(f"DROP DATABASE IF EXISTS {db}")
        a.execute(f"CREATE DATABASE {db}")
    migrate(f"{url}/{db}")
    person = f"'1101011990' || lpad((random() * {PERSONS})::int::text, 8, '0')"
    with psycopg.connect(f"{url}/{db}", autocommit=True) as c:
        batches = c.execute("SELECT to_regclass('access_log_batches') IS NOT NULL").fetchone()[0]
        if batches:
            c.execute("INSERT INTO access_log_batches (id, at, token_id, actor, role, operation, field, purpose, outcome, "
                      f"seal_seq, id_numbers) SELECT (g - 1) * {PAGE} + 1, now() - make_interval(secs => (300000 - g * 10)), "
                      f"7, 'UNIT:u1', 'UNIT', 'units', 'Posting.person', 'staffing', NULL, g, (SELECT array_agg({person}) "
                      f"FROM generate_series(1, {PAGE}) WHERE g > 0) FROM generate_series(1, %s) g", (groups,))
            c.execute("INSERT INTO access_log_batches (id, at, token_id, actor, role, operation, field, purpose, outcome, "
                      f"seal_seq, id_numbers) SELECT {groups * PAGE} + g, now() - make_interval(secs => (200000 - g)), 7, "
                      f"'POLICE:p', 'POLICE', 'person', 'Query.person', 'check', NULL, {groups} + g, ARRAY[{person}] "
                      "FROM generate_series(1, %s) g", (singles,))
            c.execute("UPDATE access_chain_head SET reads = %s", (groups * PAGE + singles,))
        else:
            c.execute("INSERT INTO access_log (at, token_id, actor, role, id_number, operation, field, purpose, outcome, "
                      f"seal_seq) SELECT now() - make_interval(secs => (300000 - g * 10)), 7, 'UNIT:u1', 'UNIT', {person}, "
                      f"'units', 'Posting.person', 'staffing', NULL, g FROM generate_series(1, %s) g, "
                      f"generate_series(1, {PAGE}) i", (groups,))
            c.execute("INSERT INTO access_log (at, token_id, actor, role, id_number, operation, field, purpose, outcome, "
                      f"seal_seq) SELECT now() - make_interval(secs => (200000 - g)), 7, 'POLICE:p', 'POLICE', {person}, "
                      f"'person', 'Query.person', 'check', NULL, {groups} + g FROM generate_series(1, %s) g", (singles,))
        c.execute("VACUUM ANALYZE")
        c.execute("CHECKPOINT")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--db", required=True)
    ap.add_argument("--fill", action="store_true")
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--singles", type=int, default=100000)
    ap.add_argument("--pages", type=int, default=60)
    ap.add_argument("--lookups", type=int, default=1500)
    a = ap.parse_args()
    if a.fill:
        fill(a.url, a.db, a.groups, a.singles)
    db = connect(f"{a.url}/{a.db}", pool_size=1)
    who = Principal(token_id=7, name="u1", role=Role.UNIT)
    with db.engine.connect() as c:
        pid = c.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    out = {"tree": os.environ.get("PYTHONPATH", ""), "db": a.db}
    for label, n, times in (("page_1900", PAGE, a.pages), ("lookup_1", 1, a.lookups)):
        write_reads(db, principal=who, reads=[("110101199000000001", "warm", "Query.person", "check", None)])
        total, worst = 0.0, 0.0
        for _ in range(times):
            reads = [(f"1101011990{random.randrange(PERSONS):08d}", "units", "Posting.person", "staffing", None)
                     for _ in range(n)]
            t0 = cpu(pid)
            write_reads(db, principal=who, reads=reads)
            spent = cpu(pid) - t0
            total, worst = total + spent, max(worst, spent)
        out[f"{label}_backend_cpu_ms"] = round(total / times * 1000, 3)
        out[f"{label}_worst_write_cpu_ms"] = round(worst * 1000, 1)  # a write that merged the GIN pending list
        with db.engine.connect() as c:  # the GIN pending list's cleanup, counted per write (autovacuum or an insert
            # past gin_pending_list_limit would do it later)
            assert c.exec_driver_sql("SELECT pg_backend_pid()").scalar() == pid, "the pool changed connection"
            if c.exec_driver_sql("SELECT to_regclass('ix_access_log_batches_id_numbers') IS NOT NULL").scalar():
                t0 = cpu(pid)
                c.exec_driver_sql("SELECT gin_clean_pending_list('ix_access_log_batches_id_numbers')")
                out[f"{label}_gin_cleanup_cpu_ms"] = round((cpu(pid) - t0) / times * 1000, 3)
                c.commit()
    db.dispose()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
