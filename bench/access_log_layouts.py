"""Session 9: PostgreSQL CPU of the access log's write of a big page's reads (1,900) and of one lookup (1 read), per
table layout, on a scratch database holding ~2 million reads (the production shape). Backend CPU is read from
/proc/<backend pid>/stat (utime + stime) around each write (INSERT + COMMIT); layouts alternate, several rounds.

    python bench/access_log_layouts.py [--url postgresql://postgres@127.0.0.1:5432] [--groups 1000] [--rounds 5]

Layouts: ``rows`` (today: one row per read, btree PK, (id_number, at), at, seal_seq), ``rows-brin`` (BRIN on at and
seal_seq), ``compact`` (one row per batch group, ID numbers as text[], GIN with fastupdate on: pending list),
``compact-nofu`` (GIN, fastupdate off), ``compact-brin`` (compact, BRIN on at and seal_seq, GIN with fastupdate),
``compact-c`` (the array COLLATE "C"), ``compact-c-lz4`` (and lz4 TOAST compression), ``compact-c-ext`` (no TOAST compression), ``compact-c-nofu``.
The GIN pending list's cleanup is counted: a run ends with ``gin_clean_pending_list`` and its CPU is spread over
the writes of that run ("+cleanup")."""

from __future__ import annotations

import argparse
import os
import random
import time

import psycopg

PAGE = 1900
PERSONS = 20000


def ids(n: int) -> list[str]:
    return [f"1101011990{random.randrange(PERSONS):08d}" for _ in range(n)]


def cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


ROWS_DDL = """
CREATE TABLE {t} (id bigserial PRIMARY KEY, at timestamptz NOT NULL, token_id bigint, actor varchar(200) NOT NULL,
  role varchar(20) NOT NULL, id_number varchar(18) NOT NULL, operation varchar(200), field varchar(100) NOT NULL,
  purpose varchar(500), seal_seq bigint, outcome varchar(20));
CREATE INDEX ON {t} (id_number, at);
CREATE INDEX ON {t} {at_using} (at);
CREATE INDEX ON {t} {at_using} (seal_seq);
"""
COMPACT_DDL = """
CREATE TABLE {t} (id bigint PRIMARY KEY, at timestamptz NOT NULL, token_id bigint, actor varchar(200) NOT NULL,
  role varchar(20) NOT NULL, operation varchar(200), field varchar(100) NOT NULL, purpose varchar(500),
  outcome varchar(20), seal_seq bigint, id_numbers text[] {collate} NOT NULL);
ALTER TABLE {t} ALTER COLUMN id_numbers SET COMPRESSION {compression};
ALTER TABLE {t} ALTER COLUMN id_numbers SET STORAGE {storage};
CREATE INDEX ON {t} {at_using} (at);
CREATE INDEX ON {t} {at_using} (seal_seq);
CREATE INDEX ON {t} USING gin (id_numbers) WITH (fastupdate = {fu});
"""
ROWS_INSERT = ("INSERT INTO {t} (at, token_id, actor, role, id_number, operation, field, purpose, outcome, seal_seq) "
               "SELECT %(at)s, 7, 'UNIT:u1', 'UNIT', t.id_number, 'units', 'Posting.person', 'staffing', NULL, %(seal)s "
               "FROM unnest(CAST(%(ids)s AS text[])) AS t(id_number)")
COMPACT_INSERT = ("INSERT INTO {t} (id, at, token_id, actor, role, operation, field, purpose, outcome, seal_seq, id_numbers) "
                  "VALUES (%(id)s, %(at)s, 7, 'UNIT:u1', 'UNIT', 'units', 'Posting.person', 'staffing', NULL, %(seal)s, "
                  "CAST(%(ids)s AS text[]))")
LAYOUTS = {
    "rows": ("rows", ROWS_DDL, dict(at_using="")),
    "rows-brin": ("rows", ROWS_DDL, dict(at_using="USING brin")),
    "compact": ("compact", COMPACT_DDL, dict(at_using="", fu="on", collate="", compression="pglz", storage="extended")),
    "compact-nofu": ("compact", COMPACT_DDL, dict(at_using="", fu="off", collate="", compression="pglz", storage="extended")),
    "compact-brin": ("compact", COMPACT_DDL, dict(at_using="USING brin", fu="on", collate="", compression="pglz", storage="extended")),
    "compact-c": ("compact", COMPACT_DDL, dict(at_using="", fu="on", collate='COLLATE "C"', compression="pglz", storage="extended")),
    "compact-c-lz4": ("compact", COMPACT_DDL, dict(at_using="", fu="on", collate='COLLATE "C"', compression="lz4", storage="extended")),
    "compact-c-ext": ("compact", COMPACT_DDL, dict(at_using="", fu="on", collate='COLLATE "C"', compression="pglz",
                                                   storage="external")),
    "compact-c-nofu": ("compact", COMPACT_DDL, dict(at_using="", fu="off", collate='COLLATE "C"', compression="lz4", storage="extended")),
}


def fill(c, name: str, groups: int, singles: int) -> None:
    kind, ddl, kw = LAYOUTS[name]
    t = "al_" + name.replace("-", "_")
    c.execute(f"DROP TABLE IF EXISTS {t}")
    c.execute(ddl.format(t=t, **kw))
    if kind == "rows":
        c.execute(f"INSERT INTO {t} (at, token_id, actor, role, id_number, operation, field, purpose, outcome, seal_seq) "
                  "SELECT now() - make_interval(secs => (g * 10)), 7, 'UNIT:u1', 'UNIT', "
                  f"'1101011990' || lpad((random() * {PERSONS})::int::text, 8, '0'), 'units', 'Posting.person', "
                  f"'staffing', NULL, g FROM generate_series(1, %s) g, generate_series(1, {PAGE}) i", (groups,))
        c.execute(f"INSERT INTO {t} (at, token_id, actor, role, id_number, operation, field, purpose, outcome, seal_seq) "
                  "SELECT now() - make_interval(secs => g), 7, 'UNIT:u1', 'UNIT', "
                  f"'1101011990' || lpad((random() * {PERSONS})::int::text, 8, '0'), 'person', 'Query.person', "
                  "'check', NULL, 1000000 + g FROM generate_series(1, %s) g", (singles,))
    else:
        c.execute(f"INSERT INTO {t} (id, at, token_id, actor, role, operation, field, purpose, outcome, seal_seq, id_numbers) "
                  f"SELECT g * {PAGE}, now() - make_interval(secs => (g * 10)), 7, 'UNIT:u1', 'UNIT', 'units', "
                  "'Posting.person', 'staffing', NULL, g, (SELECT array_agg('1101011990' || "
                  f"lpad((random() * {PERSONS})::int::text, 8, '0')) FROM generate_series(1, {PAGE}) WHERE g > 0) "
                  "FROM generate_series(1, %s) g", (groups,))
        c.execute(f"INSERT INTO {t} (id, at, token_id, actor, role, operation, field, purpose, outcome, seal_seq, id_numbers) "
                  f"SELECT 100000000 + g, now() - make_interval(secs => g), 7, 'UNIT:u1', 'UNIT', 'person', "
                  "'Query.person', 'check', NULL, 1000000 + g, ARRAY['1101011990' || "
                  f"lpad((random() * {PERSONS})::int::text, 8, '0')] FROM generate_series(1, %s) g", (singles,))
        c.execute(f"SELECT gin_clean_pending_list(i.indexrelid::regclass) FROM pg_index i "
                  f"WHERE i.indrelid = '{t}'::regclass AND i.indexrelid::regclass::text LIKE '%id_numbers%'")
    c.execute(f"VACUUM ANALYZE {t}")


def run(c, name: str, n: int, writes: int, next_id: list[int]) -> tuple[float, float]:
    """CPU seconds per write (INSERT + COMMIT) and of the pending-list cleanup after them."""
    kind = LAYOUTS[name][0]
    t = "al_" + name.replace("-", "_")
    pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
    total = 0.0
    for _ in range(writes):
        batch = ids(n)
        next_id[0] += n
        params = {"at": time.time(), "seal": next_id[0], "ids": batch, "id": next_id[0]}
        sql = (ROWS_INSERT if kind == "rows" else COMPACT_INSERT).format(t=t)
        params["at"] = None
        sql = sql.replace("%(at)s", "now()")
        t0 = cpu(pid)
        with c.transaction():
            c.execute(sql, params)
        total += cpu(pid) - t0
    clean = 0.0
    if kind == "compact":
        t0 = cpu(pid)
        c.execute(f"SELECT gin_clean_pending_list(i.indexrelid::regclass) FROM pg_index i "
                  f"WHERE i.indrelid = '{t}'::regclass AND i.indexrelid::regclass::text LIKE '%id_numbers%'")
        clean = cpu(pid) - t0
    return total / writes, clean / writes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--db", default="s9_access_layouts")
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--singles", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--writes", type=int, default=40)
    ap.add_argument("--layouts", default=",".join(LAYOUTS))
    ap.add_argument("--no-fill", action="store_true")
    a = ap.parse_args()
    names = a.layouts.split(",")
    with psycopg.connect(a.url + "/postgres", autocommit=True) as admin:
        if not a.no_fill:
            admin.execute(f"DROP DATABASE IF EXISTS {a.db}")
            admin.execute(f"CREATE DATABASE {a.db}")
    with psycopg.connect(f"{a.url}/{a.db}", autocommit=True) as c:
        if not a.no_fill:
            for name in names:
                t0 = time.time()
                fill(c, name, a.groups, a.singles)
                print(f"filled {name} in {time.time() - t0:.0f} s", flush=True)
        c.execute("CHECKPOINT")
        next_id = [int(time.time() * 1e6)]  # above every id written before (--no-fill reruns)
        results: dict[tuple[str, int], list[tuple[float, float]]] = {}
        for r in range(a.rounds):
            for n in (PAGE, 1):
                for name in (names if r % 2 == 0 else names[::-1]):
                    results.setdefault((name, n), []).append(run(c, name, n, a.writes if n == PAGE else a.writes * 25, next_id))
        print(f"{'layout':14} {'reads':>5} {'ms CPU/write (median of rounds)':>32} {'cleanup ms/write':>17}  rounds")
        for (name, n), vals in sorted(results.items(), key=lambda kv: (-kv[0][1], kv[0][0])):
            w = sorted(v[0] * 1000 for v in vals)
            cl = sorted(v[1] * 1000 for v in vals)
            print(f"{name:14} {n:5} {w[len(w) // 2]:32.3f} {cl[len(cl) // 2]:17.3f}  "
                  + " ".join(f"{x:.2f}" for x in w))


if __name__ == "__main__":
    main()
