"""The access log stored compactly (issue 18, session 9): one row of ``access_log_batches`` per batch group (the reads
one request wrote with the same time, token, actor, role, operation, field, purpose, outcome and seal), the ID
numbers as ``text[]`` (PostgreSQL, GIN-indexed) or a JSON array (SQLite). ``access_log`` becomes a view expanding
it to one row per read with the same columns (plus batch_id); a read keeps its number (``id``:
batch id + position). ``access_chain_head.reads`` counts the reads written (the next batch's first number).

Existing rows are grouped into runs of consecutive ids with equal attributes, in id order (a run repeating an ID
number, possible only in rows older than write_reads' one read per ID number, is split into one batch per row: an
ID number appears at most once in a batch, so a person's reads are the batches holding it): every seal covers the
same (token_id, actor, role, id_number, operation, field, purpose, outcome) tuples as before, so old seals verify
unchanged (no re-signing). Downgrade expands the batches back into rows.

Revision ID: 0019
Revises: 0018
"""
from itertools import groupby

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

_ATTRS = ('at', 'token_id', 'actor', 'role', 'operation', 'field', 'purpose', 'outcome', 'seal_seq')
_COLUMNS = ('id',) + _ATTRS + ('id_numbers',)

_PG_VIEW = (
    "CREATE VIEW access_log AS SELECT b.id + u.ord - 1 AS id, b.at, b.token_id, b.actor, b.role, "
    "u.id_number COLLATE \"default\" AS id_number, b.operation, b.field, b.purpose, b.seal_seq, b.outcome, "
    "b.id AS batch_id "
    "FROM access_log_batches b CROSS JOIN LATERAL unnest(b.id_numbers) WITH ORDINALITY AS u(id_number, ord)")
_SQLITE_VIEW = (
    "CREATE VIEW access_log AS SELECT b.id + j.key AS id, b.at, b.token_id, b.actor, b.role, j.value AS id_number, "
    "b.operation, b.field, b.purpose, b.seal_seq, b.outcome, b.id AS batch_id "
    "FROM access_log_batches b, json_each(b.id_numbers) AS j")


def upgrade() -> None:
    pg = op.get_bind().dialect.name == 'postgresql'
    numbers = postgresql.ARRAY(sa.Text(collation='C')) if pg else sa.JSON()
    op.create_table('access_log_batches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('token_id', sa.BigInteger(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('operation', sa.String(length=200), nullable=True),
    sa.Column('field', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.String(length=500), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('seal_seq', sa.BigInteger(), nullable=True),
    sa.Column('id_numbers', numbers, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log_batches'))
    )
    with op.batch_alter_table('access_chain_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reads', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      server_default=sa.text('0'), nullable=False))
    attrs = ", ".join(_ATTRS)
    if pg:  # runs of consecutive ids with equal attributes (gaps and islands), in one statement; a run that
        # repeats an ID number (rows from before write_reads wrote one read per ID number) becomes one batch per row
        op.execute(
            f"INSERT INTO access_log_batches ({', '.join(_COLUMNS)}) "
            f"SELECT min(id), {attrs}, array_agg(CAST(id_number AS text) ORDER BY id) FROM ("
            f"SELECT *, max(copies) OVER (PARTITION BY {attrs}, run) AS worst FROM ("
            f"SELECT *, count(*) OVER (PARTITION BY {attrs}, run, id_number) AS copies FROM ("
            f"SELECT *, id - row_number() OVER (PARTITION BY {attrs} ORDER BY id) AS run FROM access_log) r) d) w "
            f"GROUP BY {attrs}, CASE WHEN worst > 1 THEN -id ELSE run END")
    else:  # SQLite (small databases): grouped here, in id order
        conn = op.get_bind()
        batches = sa.table('access_log_batches', *(sa.column(c) for c in _COLUMNS[:-1]), sa.column('id_numbers', sa.JSON()))
        rows = conn.execute(sa.text(f"SELECT id, {attrs}, id_number FROM access_log ORDER BY id")).all()
        pending: list[dict] = []
        prev_id = None
        run = 0
        keyed = []
        for r in rows:  # a new run where the attributes change or an id is skipped
            run += prev_id is None or r[0] != prev_id + 1
            prev_id = r[0]
            keyed.append((run, r))
        for _, group in groupby(keyed, key=lambda kr: (kr[0], tuple(kr[1][1:-1]))):
            members = [r for _, r in group]
            repeats = len({r[-1] for r in members}) < len(members)
            for part in ([[r] for r in members] if repeats else [members]):  # a repeated ID number: a batch per row
                pending.append({'id': part[0][0], **dict(zip(_ATTRS, part[0][1:-1])),
                                'id_numbers': [r[-1] for r in part]})
        if pending:
            conn.execute(batches.insert(), pending)
    op.execute("UPDATE access_chain_head SET reads = COALESCE((SELECT max(id) FROM access_log), 0)")
    op.drop_table('access_log')
    with op.batch_alter_table('access_log_batches', schema=None) as batch_op:
        batch_op.create_index('ix_access_log_batches_at', ['at'], unique=False)
        batch_op.create_index('ix_access_log_batches_seal_seq', ['seal_seq'], unique=False)
    op.create_index('ix_access_log_batches_id_numbers', 'access_log_batches', ['id_numbers'], unique=False,
                    postgresql_using='gin')  # on SQLite a plain index (the models are the same on both)
    if pg:  # kept uncompressed in TOAST: pglz cost a big page's write ~0.5 ms CPU for a ~4x smaller array
        op.execute("ALTER TABLE access_log_batches ALTER COLUMN id_numbers SET STORAGE EXTERNAL")
    op.execute(_PG_VIEW if pg else _SQLITE_VIEW)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == 'postgresql'
    op.execute("ALTER VIEW access_log RENAME TO access_log_0019" if pg else
               "CREATE TABLE access_log_0019 AS SELECT * FROM access_log")
    if not pg:
        op.execute("DROP VIEW access_log")
    op.create_table('access_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('token_id', sa.BigInteger(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('operation', sa.String(length=200), nullable=True),
    sa.Column('field', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.String(length=500), nullable=True),
    sa.Column('seal_seq', sa.BigInteger(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log'))
    )
    cols = "id, at, token_id, actor, role, id_number, operation, field, purpose, seal_seq, outcome"
    op.execute(f"INSERT INTO access_log ({cols}) SELECT {cols} FROM access_log_0019 ORDER BY id")
    if pg:
        op.execute("SELECT setval(pg_get_serial_sequence('access_log', 'id'), "
                   "GREATEST((SELECT max(id) FROM access_log), 1))")
        op.execute("DROP VIEW access_log_0019")
    else:
        op.execute("DROP TABLE access_log_0019")
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index('ix_access_log_at', ['at'], unique=False)
        batch_op.create_index('ix_access_log_id_number_at', ['id_number', 'at'], unique=False)
        batch_op.create_index('ix_access_log_seal_seq', ['seal_seq'], unique=False)
    op.drop_table('access_log_batches')
    with op.batch_alter_table('access_chain_head', schema=None) as batch_op:
        batch_op.drop_column('reads')
