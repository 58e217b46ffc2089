"""Database tables (SQLAlchemy 2 declarative). Kept out of ``hub.domain``; migrations mirror this file."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT autoincrement that SQLite also treats as ROWID.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _enum_check(column: str, values) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


from hub.domain.vocabulary import (  # noqa: E402  (kept next to the checks that use them)
    Education,
    Funding,
    Gender,
    LeaderRank,
    MismatchKind,
    MismatchStatus,
    QuotaCategory,
    Role,
    UnitKind,
    UnitLevel,
    UnitStatus,
)


class UnitRow(Base):
    """A unit (机构) as it is now."""

    __tablename__ = "units"
    code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"), index=True)
    funding: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=UnitStatus.ACTIVE.value)
    established_on: Mapped[date | None] = mapped_column(Date)
    abolished_on: Mapped[date | None] = mapped_column(Date)
    __table_args__ = (
        _enum_check("kind", UnitKind),
        _enum_check("level", UnitLevel),
        _enum_check("funding", Funding),
        _enum_check("status", UnitStatus),
    )


class UnitVersionRow(Base):
    """One version of a unit, valid from one date to the next (the unit's 沿革)."""

    __tablename__ = "unit_versions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(6))
    parent_code: Mapped[str | None] = mapped_column(String(18))
    funding: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    document_number: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_unit_versions_unit_from", "unit_code", "valid_from"),)


class QuotaRow(Base):
    """Approved quota slots (编制) of a unit in one category."""

    __tablename__ = "quotas"
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    approved: Mapped[int] = mapped_column(Integer)
    document_number: Mapped[str | None] = mapped_column(String(100))
    effective_date: Mapped[date | None] = mapped_column(Date)
    __table_args__ = (
        _enum_check("category", QuotaCategory),
        CheckConstraint("approved >= 0", name="approved_nonnegative"),
    )


class QuotaVersionRow(Base):
    __tablename__ = "quota_versions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    category: Mapped[str] = mapped_column(String(32))
    approved: Mapped[int] = mapped_column(Integer)
    document_number: Mapped[str | None] = mapped_column(String(100))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_quota_versions_unit_from", "unit_code", "category", "valid_from"),)


class LeaderQuotaRow(Base):
    """Approved leadership positions (领导职数) of a unit in one rank."""

    __tablename__ = "leader_quotas"
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), primary_key=True)
    rank: Mapped[str] = mapped_column(String(32), primary_key=True)
    approved: Mapped[int] = mapped_column(Integer)
    document_number: Mapped[str | None] = mapped_column(String(100))
    effective_date: Mapped[date | None] = mapped_column(Date)
    __table_args__ = (
        _enum_check("rank", LeaderRank),
        CheckConstraint("approved >= 0", name="approved_nonnegative"),
    )


class LeaderQuotaVersionRow(Base):
    __tablename__ = "leader_quota_versions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    rank: Mapped[str] = mapped_column(String(32))
    approved: Mapped[int] = mapped_column(Integer)
    document_number: Mapped[str | None] = mapped_column(String(100))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_leader_quota_versions_unit_from", "unit_code", "rank", "valid_from"),)


class PersonRow(Base):
    """A person in the registry, keyed by citizen ID number."""

    __tablename__ = "persons"
    id_number: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    education: Mapped[str | None] = mapped_column(String(16))
    # identity as verified by the police (公安) connector
    verified_name: Mapped[str | None] = mapped_column(String(100))
    identity_status: Mapped[str | None] = mapped_column(String(16))
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (
        _enum_check("gender", Gender),
        CheckConstraint(
            "education IS NULL OR education IN (" + ", ".join(f"'{e.value}'" for e in Education) + ")",
            name="education_allowed",
        ),
    )


class PersonVersionRow(Base):
    __tablename__ = "person_versions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id_number: Mapped[str] = mapped_column(ForeignKey("persons.id_number"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    education: Mapped[str | None] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_person_versions_person_from", "id_number", "valid_from"),)


class PostingRow(Base):
    """A person holding a quota slot in a unit (在编), from start to end date."""

    __tablename__ = "postings"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id_number: Mapped[str] = mapped_column(ForeignKey("persons.id_number"))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    category: Mapped[str] = mapped_column(String(32))
    leader_rank: Mapped[str | None] = mapped_column(String(32))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (
        _enum_check("category", QuotaCategory),
        CheckConstraint(
            "leader_rank IS NULL OR leader_rank IN (" + ", ".join(f"'{r.value}'" for r in LeaderRank) + ")",
            name="leader_rank_allowed",
        ),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        CheckConstraint("(active AND end_date IS NULL) OR (NOT active AND end_date IS NOT NULL)", name="active_iff_open"),
        # A person holds at most one active posting.
        Index(
            "uq_postings_one_active_per_person",
            "id_number",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
        Index("ix_postings_id_number", "id_number"),
        Index("ix_postings_unit_active", "unit_code", "active", "category"),
    )


class MismatchRow(Base):
    """A disagreement between the registry and a partner's view (contract section 7)."""

    __tablename__ = "mismatches"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(18))
    unit_code: Mapped[str] = mapped_column(String(18), default="")  # '' when no unit applies
    source: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    caused_by: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of event ids
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        _enum_check("kind", MismatchKind),
        _enum_check("status", MismatchStatus),
        Index(
            "uq_mismatches_one_open",
            "kind",
            "subject",
            "unit_code",
            unique=True,
            postgresql_where=text("status = 'OPEN'"),
            sqlite_where=text("status = 'OPEN'"),
        ),
        Index("ix_mismatches_status_kind", "status", "kind"),
        Index("ix_mismatches_subject", "subject"),
        Index("ix_mismatches_unit", "unit_code"),
    )


class OutboxRow(Base):
    """An event to publish, written in the same transaction as the change it reports."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(100))
    key: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        Index("ix_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL"), sqlite_where=text("sent_at IS NULL")),
    )


class OperationLogRow(Base):
    """Append-only, hash-chained log of every operation (who, when, what, before, after)."""

    __tablename__ = "operation_log"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))  # ISO-8601 UTC, hashed as written
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (Index("ix_operation_log_entity", "entity", "entity_id"),)


class AuditChainHeadRow(Base):
    """The single row holding the chain's last sequence number and hash; locked to append."""

    __tablename__ = "audit_chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigId)
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class ApiTokenRow(Base):
    """A partner's bearer token; only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        _enum_check("role", Role),
        CheckConstraint("role <> 'UNIT' OR unit_code IS NOT NULL", name="unit_role_has_unit"),
    )


# --- Partner views and delivery bookkeeping (streaming connectors) -------------------------------------------


class PartnerIdentityRow(Base):
    """The police's latest view of a person (公安: identity, alive/deceased, photo)."""

    __tablename__ = "partner_identity"
    id_number: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PartnerEmploymentRow(Base):
    """HR's latest view of a person's employment (人社)."""

    __tablename__ = "partner_employment"
    id_number: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    unit_code: Mapped[str] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(16))
    effective_date: Mapped[date] = mapped_column(Date)
    rank: Mapped[str | None] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PartnerPayrollRow(Base):
    """Finance's payroll line for a person, paying unit and period (财政); ``paid`` false once stopped."""

    __tablename__ = "partner_payroll"
    id_number: Mapped[str] = mapped_column(String(18), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    gross_amount: Mapped[str | None] = mapped_column(String(32))
    paid: Mapped[bool] = mapped_column(Boolean)
    event_id: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PartnerInsuranceRow(Base):
    """Social insurance's latest contribution record for a person (社保)."""

    __tablename__ = "partner_insurance"
    id_number: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    employer_code: Mapped[str] = mapped_column(String(18))
    period: Mapped[str] = mapped_column(String(7))
    base_amount: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AppliedEventRow(Base):
    """Every inbound CloudEvent applied, by (source, id), with its payload hash: duplicates change nothing."""

    __tablename__ = "applied_events"
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SubjectSequenceRow(Base):
    """The highest `sequence` applied per (source, subject): older events are stale."""

    __tablename__ = "subject_sequences"
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    subject: Mapped[str] = mapped_column(String(18), primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger)


class ConsumerOffsetRow(Base):
    """Next offset to consume per connector, topic and partition — committed with the effects it covers."""

    __tablename__ = "consumer_offsets"
    connector: Mapped[str] = mapped_column(String(40), primary_key=True)
    topic: Mapped[str] = mapped_column(String(200), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_offset: Mapped[int] = mapped_column(BigInteger)
    # The topic's id (KIP-516) when the offset was stored: a broker that lost its data re-creates the topic with a
    # new one, and the offset then belongs to a log that no longer exists (connectors.runner). NULL: not known.
    topic_id: Mapped[str | None] = mapped_column(String(36))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeadLetterRow(Base):
    """An inbound message the hub rejected (also published on registry.deadletter.v1)."""

    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    connector: Mapped[str] = mapped_column(String(40))
    topic: Mapped[str] = mapped_column(String(200))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str | None] = mapped_column(Text)
    raw_base64: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        UniqueConstraint("topic", "partition", "offset", name="uq_dead_letters_position"),
        Index("ix_dead_letters_created", "created_at"),
    )


class ComparisonRow(Base):
    """One run of a monthly full comparison (全库比对) of a department's snapshot."""

    __tablename__ = "comparisons"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(7))
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # RUNNING, SUCCEEDED, REJECTED, FAILED
    actor: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    summary: Mapped[str | None] = mapped_column(Text)  # JSON
    error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("status IN ('RUNNING', 'SUCCEEDED', 'REJECTED', 'FAILED')", name="status_allowed"),
        Index("ix_comparisons_source_period", "source", "period"),
    )


class AccessLogRow(Base):
    """Every read of a person's data through the API: who, role, when, which ID numbers, operation, purpose."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    token_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    id_number: Mapped[str] = mapped_column(String(18))
    operation: Mapped[str | None] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str | None] = mapped_column(String(500))
    __table_args__ = (
        Index("ix_access_log_id_number_at", "id_number", "at"),
        Index("ix_access_log_at", "at"),
    )
