"""Database tables (SQLAlchemy 2 declarative). Kept out of ``hub.domain``; migrations mirror this file."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    Table,
    UniqueConstraint,
    bindparam,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT autoincrement that SQLite also treats as ROWID.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class _SqliteUtcDateTime(TypeDecorator):
    """SQLite keeps no offset: what the hub wrote (always UTC) is read back as UTC, not as a naive time."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


# A point in time, read back with its offset on both databases (every timestamp the hub serves is RFC 3339).
Timestamp = DateTime(timezone=True).with_variant(_SqliteUtcDateTime(), "sqlite")


# A batch's ID numbers: text[] COLLATE "C" on PostgreSQL (its GIN index compares bytes: ID numbers are ASCII, and
# the strcoll of a libc collation made the index's upkeep ~20 % dearer), a JSON array (text) on SQLite.
IdNumbers = ARRAY(Text(collation="C")).with_variant(JSON(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _enum_check(column: str, values) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


from hub.domain.vocabulary import (  # noqa: E402  (kept next to the checks that use them)
    Degree,
    DispatchedBody,
    InstitutionClass,
    UnitGrade,
    Education,
    Funding,
    Gender,
    LeaderRank,
    MismatchKind,
    MismatchStatus,
    NonEstablishmentKind,
    ApplicationStatus,
    DocumentKind,
    FormKind,
    QuotaCategory,
    RecruitmentRoute,
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
    grade: Mapped[str | None] = mapped_column(String(16))  # 机构规格
    civil_service_managed: Mapped[bool] = mapped_column(Boolean, default=False)  # 参公
    classification: Mapped[str | None] = mapped_column(String(32))  # 事业单位分类
    dispatched: Mapped[str | None] = mapped_column(String(32))  # 派出机构
    __table_args__ = (
        _enum_check("kind", UnitKind),
        _enum_check("level", UnitLevel),
        _enum_check("funding", Funding),
        _enum_check("status", UnitStatus),
        CheckConstraint("grade IS NULL OR grade IN (" + ", ".join(f"'{g.value}'" for g in UnitGrade) + ")",
                        name="grade_allowed"),
        CheckConstraint("classification IS NULL OR classification IN ("
                        + ", ".join(f"'{c.value}'" for c in InstitutionClass) + ")", name="classification_allowed"),
        CheckConstraint("dispatched IS NULL OR dispatched IN (" + ", ".join(f"'{d.value}'" for d in DispatchedBody) + ")",
                        name="dispatched_allowed"),
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
    grade: Mapped[str | None] = mapped_column(String(16))
    civil_service_managed: Mapped[bool] = mapped_column(Boolean, default=False)
    classification: Mapped[str | None] = mapped_column(String(32))
    dispatched: Mapped[str | None] = mapped_column(String(32))
    document_number: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)
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
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)
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
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)
    __table_args__ = (Index("ix_leader_quota_versions_unit_from", "unit_code", "rank", "valid_from"),)


class PersonRow(Base):
    """A person in the registry, keyed by citizen ID number."""

    __tablename__ = "persons"
    id_number: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    education: Mapped[str | None] = mapped_column(String(16))  # 全日制 学历
    degree: Mapped[str | None] = mapped_column(String(16))  # 全日制 学位
    in_service_education: Mapped[str | None] = mapped_column(String(16))  # 在职 学历
    in_service_degree: Mapped[str | None] = mapped_column(String(16))  # 在职 学位
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
        CheckConstraint("degree IS NULL OR degree IN (" + ", ".join(f"'{e.value}'" for e in Degree) + ")",
                        name="degree_allowed"),
        CheckConstraint("in_service_education IS NULL OR in_service_education IN ("
                        + ", ".join(f"'{e.value}'" for e in Education) + ")", name="in_service_education_allowed"),
        CheckConstraint("in_service_degree IS NULL OR in_service_degree IN (" + ", ".join(f"'{e.value}'" for e in Degree) + ")",
                        name="in_service_degree_allowed"),
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
    degree: Mapped[str | None] = mapped_column(String(16))
    in_service_education: Mapped[str | None] = mapped_column(String(16))
    in_service_degree: Mapped[str | None] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)
    __table_args__ = (Index("ix_person_versions_person_from", "id_number", "valid_from"),)


class NonEstablishmentRow(Base):
    """编外人员: a person employed outside the establishment (contract, labour dispatch, secondment, temporary post), or
    a retiree whose pension the unit pays through finance, paid by ``unit_code`` from start to end date. Not in the
    quota; counted apart in 三数一致."""

    __tablename__ = "non_establishment_staff"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id_number: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(100))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    kind: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    document_number: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)
    __table_args__ = (
        _enum_check("kind", NonEstablishmentKind),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        CheckConstraint("(active AND end_date IS NULL) OR (NOT active AND end_date IS NOT NULL)", name="active_iff_open"),
        Index("ix_non_establishment_staff_person", "id_number"),
        Index("uq_non_establishment_staff_one_active", "id_number", "unit_code", unique=True,
              postgresql_where=text("active"), sqlite_where=text("active")),
    )


class InternalDepartmentRow(Base):
    """内设机构: an internal department (科室) of a unit with its leader positions (正职, 副职); ``approved`` when the
    unit's approval (三定) names it — one it does not is a supervision finding (UNAPPROVED_DEPARTMENT)."""

    __tablename__ = "internal_departments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    name: Mapped[str] = mapped_column(String(100))
    approved: Mapped[bool] = mapped_column(Boolean)
    chief_positions: Mapped[int] = mapped_column(Integer)
    deputy_positions: Mapped[int] = mapped_column(Integer)
    document_number: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)
    __table_args__ = (
        CheckConstraint("chief_positions >= 0 AND deputy_positions >= 0", name="positions_nonnegative"),
        Index("uq_internal_departments_one_active", "unit_code", "name", unique=True,
              postgresql_where=text("active"), sqlite_where=text("active")),
    )


class RetirementDecisionRow(Base):
    """An approved flexible retirement (弹性提前 / 弹性延迟退休): the date it sets replaces the statutory one."""

    __tablename__ = "retirement_decisions"
    id_number: Mapped[str] = mapped_column(ForeignKey("persons.id_number"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    retire_on: Mapped[date] = mapped_column(Date)
    document_number: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)
    __table_args__ = (CheckConstraint("kind IN ('EARLY', 'DELAY')", name="kind_allowed"),)


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
    detected_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    resolved_at: Mapped[datetime | None] = mapped_column(Timestamp)
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
        Index("ix_mismatches_detected_at", "detected_at"),  # the lists' order, newest first (scanned backwards)
    )


class OutboxRow(Base):
    """An event to publish, written in the same transaction as the change it reports."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(100))
    key: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # set aside: the broker refused the event for good (too large, invalid); not sent, kept (hub/adapters/outbox_relay.py)
    refused_at: Mapped[datetime | None] = mapped_column(Timestamp)
    refused_reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        Index("ix_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL"), sqlite_where=text("sent_at IS NULL")),
        Index("ix_outbox_refused", "topic", "key", "id", postgresql_where=text("refused_at IS NOT NULL"),
              sqlite_where=text("refused_at IS NOT NULL")),
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
    key_id: Mapped[str | None] = mapped_column(String(16))  # which key signs the chain (None: unkeyed SHA-256)
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class AccessChainHeadRow(Base):
    """The access log's chain head: its last seal's sequence number and hash; locked to seal a batch of reads."""

    __tablename__ = "access_chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigId)
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))
    # reads written so far: the next batch's reads are numbered from reads + 1 (migration 0019; access_log_batches.id)
    reads: Mapped[int] = mapped_column(BigId, server_default=text("0"))
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class AccessSealRow(Base):
    """One link of the access log's chain: a MAC over the previous seal and every row written in one batch."""

    __tablename__ = "access_log_seals"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))  # the batch's time as hashed (UTC)
    rows: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ApiTokenRow(Base):
    """A partner's bearer token; only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # A district establishment office's ADMIN token acts and lists only in this region (GB/T 2260 code).
    region_code: Mapped[str | None] = mapped_column(String(6))
    __table_args__ = (
        _enum_check("role", Role),
        CheckConstraint("role <> 'UNIT' OR unit_code IS NOT NULL", name="unit_role_has_unit"),
        CheckConstraint("region_code IS NULL OR role = 'ADMIN'", name="region_only_for_admin"),
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
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


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
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


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
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


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
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class AppliedEventRow(Base):
    """Every inbound CloudEvent applied, by (source, id), with its payload hash: duplicates change nothing.
    ``sent_at``: the event's CloudEvent `time`, or its Kafka record timestamp when it has none (NULL: neither known,
    or applied before revision 0015); ``applied_at - sent_at`` is the feed's lag (report feed-health)."""

    __tablename__ = "applied_events"
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(Timestamp)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)


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
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


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
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    replayed_at: Mapped[datetime | None] = mapped_column(Timestamp)
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
    started_at: Mapped[datetime] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
    summary: Mapped[str | None] = mapped_column(Text)  # JSON
    error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("status IN ('RUNNING', 'SUCCEEDED', 'REJECTED', 'FAILED')", name="status_allowed"),
        Index("ix_comparisons_source_period", "source", "period"),
    )


class AccessLogBatchRow(Base):
    """The access log as stored (migration 0019): one row per batch group — the reads one request wrote with the
    same time, token, actor, role, operation, field, purpose, outcome and seal — with their ID numbers in order
    (``text[]`` on PostgreSQL with a GIN index, JSON text on SQLite). The reads are numbered ``id`` ..
    ``id + len(id_numbers) - 1`` (``access_chain_head.reads`` counts them). A big page's 1,900 reads are one heap
    row and one GIN pending-list append instead of 1,900 rows in four btrees (docs/bench-graphql.md, session 9).
    An ID number appears at most once in a batch (write_reads writes one read per ID number, field and outcome;
    migration 0019 splits old runs that repeat one): a person's reads are the batches that ``holds`` them."""

    __tablename__ = "access_log_batches"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(Timestamp)
    token_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    operation: Mapped[str | None] = mapped_column(String(200))
    field: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str | None] = mapped_column(String(500))
    # None: a person was read; NOT_FOUND / OUT_OF_SCOPE: a lookup answered "no such person" (docs/access.md)
    outcome: Mapped[str | None] = mapped_column(String(20))
    seal_seq: Mapped[int | None] = mapped_column(BigInteger)  # the access_log_seals link covering it (None: before 0009)
    id_numbers: Mapped[list[str]] = mapped_column(IdNumbers)
    __table_args__ = (
        Index("ix_access_log_batches_at", "at"),
        Index("ix_access_log_batches_seal_seq", "seal_seq"),
        # GIN on PostgreSQL (holds); on SQLite a plain index of the JSON text, unused (kept: the models match
        # the migrated schema on both, and SQLite is not where big pages are served)
        Index("ix_access_log_batches_id_numbers", "id_numbers", postgresql_using="gin"),
    )

    @staticmethod
    def holds(id_number: str) -> ColumnElement[bool]:
        """The batches holding ``id_number``: one read of it each."""
        return _Holds(id_number)

    @staticmethod
    def reads() -> ColumnElement[int]:
        """How many reads a batch holds: ``cardinality`` (PostgreSQL), ``json_array_length`` (SQLite)."""
        return _Reads()


# The view ``access_log`` (migration 0019): one row per read, expanded from access_log_batches — what the readers
# of the whole log query. Read only; kept out of Base.metadata (a view, not a table for create_all or autogenerate).
_access_log_view = Table(
    "access_log", MetaData(),
    Column("id", BigInteger, primary_key=True),  # the read's number: batch id + its position in the batch
    Column("at", Timestamp), Column("token_id", BigInteger), Column("actor", String(200)), Column("role", String(20)),
    Column("id_number", String(18)), Column("operation", String(200)), Column("field", String(100)),
    Column("purpose", String(500)), Column("seal_seq", BigInteger), Column("outcome", String(20)),
    Column("batch_id", BigInteger),  # the access_log_batches row it comes from
)


class AccessLogRow(Base):
    """Every read of a person's data through the API: who, role, when, which ID number, operation, purpose — one row
    per read of the ``access_log`` view over access_log_batches (read only: write with hub.api.access.write_reads).
    Newest first is ``NEWEST_FIRST``. One person's reads are best found in the batches (``AccessLogBatchRow.holds``:
    the GIN index, and one read per batch), not by filtering this view, which expands every batch."""

    __table__ = _access_log_view
    id: Mapped[int]
    at: Mapped[datetime]
    token_id: Mapped[int | None]
    actor: Mapped[str]
    role: Mapped[str]
    id_number: Mapped[str]
    operation: Mapped[str | None]
    field: Mapped[str]
    purpose: Mapped[str | None]
    seal_seq: Mapped[int | None]
    outcome: Mapped[str | None]
    batch_id: Mapped[int]


# at DESC, then the read's number DESC — ordered by batch first (disjoint, increasing ranges: the same order), which
# PostgreSQL takes from the batches' at index, sorting within a batch only
AccessLogRow.NEWEST_FIRST = (AccessLogRow.at.desc(), AccessLogRow.batch_id.desc(), AccessLogRow.id.desc())  # type: ignore[attr-defined]


class _Holds(ColumnElement[bool]):
    """``access_log_batches.id_numbers`` holds an ID number: ``@> ARRAY[x]`` on PostgreSQL (the GIN index), a
    ``json_each`` search on SQLite."""

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("id_number", InternalTraversal.dp_clauseelement)]

    def __init__(self, id_number: str) -> None:
        self.column = AccessLogBatchRow.__table__.c.id_numbers
        self.id_number = bindparam(None, id_number, type_=String())

    @property
    def _from_objects(self):
        return self.column._from_objects


class _Reads(ColumnElement[int]):
    inherit_cache = True
    type = Integer()
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self) -> None:
        self.column = AccessLogBatchRow.__table__.c.id_numbers

    @property
    def _from_objects(self):
        return self.column._from_objects


@compiles(_Reads)
def _reads_sqlite(element, compiler, **kw):
    return f"json_array_length({compiler.process(element.column, **kw)})"


@compiles(_Reads, "postgresql")
def _reads_pg(element, compiler, **kw):
    return f"cardinality({compiler.process(element.column, **kw)})"


@compiles(_Holds)
def _holds_sqlite(element, compiler, **kw):
    column = compiler.process(element.column, **kw)
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {compiler.process(element.id_number, **kw)})"


@compiles(_Holds, "postgresql")
def _holds_pg(element, compiler, **kw):
    column = compiler.process(element.column, **kw)
    return f"{column} @> ARRAY[CAST({compiler.process(element.id_number, **kw)} AS text)]"


# --- Workflows (contract section 9) ----------------------------------------------------------------------------


class HiringPlanRow(Base):
    """A unit's hiring plan (用编计划): N slots of a category for a year; approved slots are reserved until used or
    until the year ends."""

    __tablename__ = "hiring_plans"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    year: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    slots: Mapped[int] = mapped_column(Integer)
    approved_slots: Mapped[int | None] = mapped_column(Integer)
    filled: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(Timestamp)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    form_number: Mapped[str | None] = mapped_column(String(20))
    # the annual evaluation (年度评估) a cut (减少核定用编计划) cites, revision 0017
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation_results.id"))
    __table_args__ = (
        _enum_check("category", QuotaCategory),
        _enum_check("status", ApplicationStatus),
        CheckConstraint("slots > 0", name="slots_positive"),
        CheckConstraint("approved_slots IS NULL OR (approved_slots >= 0 AND approved_slots <= slots)", name="approved_within_asked"),
        CheckConstraint("filled >= 0 AND (approved_slots IS NULL OR filled <= approved_slots)", name="filled_within_approved"),
        Index("ix_hiring_plans_unit_status", "unit_code", "status", "category"),
    )


class OnboardingRow(Base):
    """An onboarding application (用编进编): a unit asks to post a named person into a slot."""

    __tablename__ = "onboardings"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    id_number: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    route: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[date] = mapped_column(Date)
    education: Mapped[str | None] = mapped_column(String(16))
    hiring_plan_id: Mapped[int | None] = mapped_column(ForeignKey("hiring_plans.id"))
    required_reviews: Mapped[str] = mapped_column(String(100))  # comma-separated roles
    round: Mapped[int] = mapped_column(Integer, default=1)
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(Timestamp)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id"))
    form_number: Mapped[str | None] = mapped_column(String(20))
    __table_args__ = (
        _enum_check("status", ApplicationStatus),
        _enum_check("category", QuotaCategory),
        _enum_check("route", RecruitmentRoute),
        Index("ix_onboardings_unit_status", "unit_code", "status"),
        Index("ix_onboardings_id_number", "id_number"),
    )


class ApplicationStepRow(Base):
    """One step on an application's timeline: who did what, with which comment, when (and in which review round)."""

    __tablename__ = "application_steps"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("onboardings.id"))
    round: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(Timestamp)
    __table_args__ = (Index("ix_application_steps_application", "application_id", "id"),)


class ApprovalFormRow(Base):
    """An approval form (进编审批表, 减员通知单, …): number, kind, the facts it states and their verification code."""

    __tablename__ = "approval_forms"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    code: Mapped[str] = mapped_column(String(16))
    facts: Mapped[str] = mapped_column(Text)  # canonical JSON, what the code is computed over
    unit_code: Mapped[str] = mapped_column(String(18))
    id_number: Mapped[str | None] = mapped_column(String(18))
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(Timestamp)
    __table_args__ = (_enum_check("kind", FormKind), Index("ix_approval_forms_id_number", "id_number"))


class UnitFreezeRow(Base):
    """A unit the office has frozen (冻结): no onboarding and no hiring plan while the row exists."""

    __tablename__ = "unit_freezes"
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    frozen_by: Mapped[str] = mapped_column(String(200))
    frozen_at: Mapped[datetime] = mapped_column(Timestamp)


class LeaderAppointmentRow(Base):
    """A leader appointment or removal (职数使用): the office checks the leader quota (核准), ORGANIZATION records the
    decision (任免) under a document number, the office confirms (配备) and the posting's rank changes."""

    __tablename__ = "leader_appointments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id_number: Mapped[str] = mapped_column(String(18))
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id"))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    rank: Mapped[str | None] = mapped_column(String(32))  # None: removal from the leader position
    effective_date: Mapped[date] = mapped_column(Date)
    document_number: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(16))  # CHECKED (核准), DECIDED (任免), CONFIRMED (配备)
    checked_by: Mapped[str] = mapped_column(String(200))
    checked_at: Mapped[datetime] = mapped_column(Timestamp)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    confirmed_by: Mapped[str | None] = mapped_column(String(200))
    confirmed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    form_number: Mapped[str | None] = mapped_column(String(20))
    __table_args__ = (
        CheckConstraint("stage IN ('CHECKED', 'DECIDED', 'CONFIRMED')", name="stage_allowed"),
        CheckConstraint(
            "rank IS NULL OR rank IN (" + ", ".join(f"'{r.value}'" for r in LeaderRank) + ")", name="rank_allowed"),
        Index("ix_leader_appointments_open", "id_number", "stage"),
        Index("ix_leader_appointments_unit", "unit_code", "stage", "rank"),
    )


class DocumentRow(Base):
    """A document of the register (文号): a committee's minutes, a reply, a notice… that changes name."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    issuer: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(24))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)
    __table_args__ = (_enum_check("kind", DocumentKind),)


class PolicyOverQuotaRow(Base):
    """An office decision (政策性超编) allowing policy placements above a unit's quota in a category, naming its document
    and the date by which the excess is to be absorbed (消化); after it, the excess is OVER_QUOTA again."""

    __tablename__ = "policy_overquota"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    category: Mapped[str] = mapped_column(String(32))
    slots: Mapped[int] = mapped_column(Integer)
    document_number: Mapped[str] = mapped_column(String(100))
    deadline: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)
    __table_args__ = (
        _enum_check("category", QuotaCategory),
        CheckConstraint("slots > 0", name="slots_positive"),
        Index("ix_policy_overquota_unit", "unit_code", "category", "deadline"),
    )


# --- Supervision (contract section 11) ---------------------------------------------------------------------------

from hub.domain.supervision import (  # noqa: E402  (kept next to the checks that use them)
    FindingCategory,
    FindingSource,
    FindingStatus,
    RecommendationKind,
    StepAction,
)


class FindingRow(Base):
    """A finding (整改事项) of an audit, an inspection or the hub's own checks about a unit, tracked to closing (销号).
    ``evidence``: JSON list of ``{"kind": PERSON|MISMATCH|DOCUMENT, "ref": …}``. ``condition_key`` names the condition
    a hub-raised finding is about (one live finding per condition); ``overdue_at``: when its overdue event was raised
    (cleared when the deadline moves)."""

    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    source: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(100))  # the audit report's or inspection feedback's number
    recommendation: Mapped[str] = mapped_column(Text)
    recommendation_kind: Mapped[str | None] = mapped_column(String(32))
    responsible_party: Mapped[str] = mapped_column(String(200))
    deadline: Mapped[date] = mapped_column(Date)
    evidence: Mapped[str] = mapped_column(Text, default="[]")
    condition_key: Mapped[str | None] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    verified_at: Mapped[datetime | None] = mapped_column(Timestamp)
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    overdue_at: Mapped[datetime | None] = mapped_column(Timestamp)
    __table_args__ = (
        _enum_check("source", FindingSource),
        _enum_check("category", FindingCategory),
        _enum_check("status", FindingStatus),
        CheckConstraint("recommendation_kind IS NULL OR recommendation_kind IN ("
                        + ", ".join(f"'{k.value}'" for k in RecommendationKind) + ")", name="recommendation_kind_allowed"),
        Index("ix_findings_unit_status", "unit_code", "status"),
        Index("ix_findings_status_deadline", "status", "deadline"),
        Index("ix_findings_live_condition", "condition_key", unique=True,
              postgresql_where=text("closed_at IS NULL AND condition_key IS NOT NULL"),
              sqlite_where=text("closed_at IS NULL AND condition_key IS NOT NULL")),
    )


class FindingStepRow(Base):
    """One step on a finding's timeline: who (actor, role) did what, when, with which comment and evidence."""

    __tablename__ = "finding_steps"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"))
    action: Mapped[str] = mapped_column(String(24))
    status_before: Mapped[str | None] = mapped_column(String(16))
    status_after: Mapped[str] = mapped_column(String(16))
    deadline_before: Mapped[date | None] = mapped_column(Date)
    deadline_after: Mapped[date | None] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # a token's role, or SYSTEM for the hub's own steps
    comment: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="[]")
    at: Mapped[datetime] = mapped_column(Timestamp)
    __table_args__ = (
        _enum_check("action", StepAction),
        Index("ix_finding_steps_finding", "finding_id", "id"),
    )


# --- Annual evaluation (年度评估) and over-quota absorption (超编消化), issue 17, revision 0017 ----------------------


class EvaluationIndicatorRow(Base):
    """A dynamic indicator (动态指标) the office sets for a year's priorities: its maximum points and who scores it
    (the office, or ORGANIZATION / FINANCE for their own). The fixed indicators are computed by the hub."""

    __tablename__ = "evaluation_indicators"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    max_score: Mapped[int] = mapped_column(Integer)
    scored_by: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    __table_args__ = (
        UniqueConstraint("year", "code", name="uq_evaluation_indicators_year_code"),
        CheckConstraint("max_score > 0 AND max_score <= 100", name="max_score_range"),
        CheckConstraint("scored_by IN ('ADMIN', 'ORGANIZATION', 'FINANCE')", name="scored_by_allowed"),
    )


class EvaluationScoreRow(Base):
    """A unit's score on a dynamic indicator, entered by the joint evaluation group (联合评估组), with a comment."""

    __tablename__ = "evaluation_scores"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("evaluation_indicators.id"))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    score: Mapped[int] = mapped_column(Integer)  # tenths of a point (8.5 → 85): exact on both databases
    comment: Mapped[str | None] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(200))
    entered_role: Mapped[str] = mapped_column(String(20))
    entered_at: Mapped[datetime] = mapped_column(Timestamp)
    __table_args__ = (
        UniqueConstraint("indicator_id", "unit_code", name="uq_evaluation_scores_indicator_unit"),
        CheckConstraint("score >= 0", name="score_not_negative"),
        Index("ix_evaluation_scores_unit", "unit_code"),
    )


class EvaluationResultRow(Base):
    """A unit's evaluation result for a year (评估结果): the fixed indicators as computed when it was decided, the
    dynamic scores, total, grade and the office's comment. A hiring-plan cut may cite it."""

    __tablename__ = "evaluation_results"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    score: Mapped[int] = mapped_column(Integer)  # tenths of a point
    max_score: Mapped[int] = mapped_column(Integer)  # tenths of a point
    grade: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON: every indicator with its points
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(Timestamp)
    __table_args__ = (
        UniqueConstraint("year", "unit_code", name="uq_evaluation_results_year_unit"),
        CheckConstraint("grade IN ('EXCELLENT', 'GOOD', 'PASS', 'FAIL')", name="grade_allowed"),
    )


class AbsorptionTargetRow(Base):
    """A target of an over-quota unit's absorption plan (超编消化计划): by ``target_date`` at most ``remaining`` slots
    of the category above quota; ``baseline`` is the excess when the plan was entered."""

    __tablename__ = "absorption_targets"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    category: Mapped[str] = mapped_column(String(32))
    target_date: Mapped[date] = mapped_column(Date)
    remaining: Mapped[int] = mapped_column(Integer)
    baseline: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(200))
    entered_at: Mapped[datetime] = mapped_column(Timestamp)
    __table_args__ = (
        _enum_check("category", QuotaCategory),
        UniqueConstraint("unit_code", "category", "target_date", name="uq_absorption_targets_unit_category_date"),
        CheckConstraint("remaining >= 0 AND baseline > 0", name="counts_allowed"),
    )
