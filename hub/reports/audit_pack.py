"""审计/巡察事前参考数据 The audit data pack: what the office hands an audit team (审计) or an inspection team (巡察)
before it starts — for one unit, or for every unit of a district — as one package (XLSX workbook, or one printable
HTML document): the establishment ledger, the unit's history and the documents it rests on, who holds its slots,
its open mismatches, and its findings with every rectification step.

The tables reuse the catalogue's reports (``establishment-ledger``, ``unit-history``, ``region-summary``) and add the
pack's own. Built for the office (an ADMIN caller; a district office: its region only): the pack is personal data
(names and ID numbers of the unit's staff), and every ID number in it is written to the access log by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from hub.adapters.jsonutil import loads
from hub.adapters.orm import FindingRow, FindingStepRow, MismatchRow, PersonRow, PostingRow, UnitRow
from hub.domain import supervision as sv
from hub.domain.calendar import office_date
from hub.domain.identifiers import parse_unit_code
from hub.domain.vocabulary import UNIT_LEVEL_KINDS, Role
from hub.reports import get, run
from hub.reports.base import Caller, ReportError, ReportTable
from hub.service_layer.workflows.documents import unit_documents

UNIT_LEVEL = frozenset(k.value for k in UNIT_LEVEL_KINDS)
PURPOSES = {"audit": ("审计事前参考数据", "Audit data pack"), "inspection": ("巡察参考数据", "Inspection data pack")}


@dataclass
class Pack:
    title: str
    tables: list[ReportTable]
    person_reads: list[str]


def _table(name: str, title: str, columns: list[tuple[str, str]], rows: list[list], params: dict, today: date) -> ReportTable:
    return ReportTable(name=name, title=title, columns=[c for c, _ in columns], labels=[lbl for _, lbl in columns],
                       rows=rows, params=params, generated_on=today)


def _units(session, caller: Caller, unit: str | None, region: str | None) -> list[UnitRow]:
    if unit:
        code = parse_unit_code(unit)
        u = session.get(UnitRow, code)
        scope = caller.region_code or region
        if u is None or (scope and u.region_code != scope):
            raise ReportError(f"no unit {code}" + (" in that region" if u is not None else ""))
        return [u]
    if caller.region_code and region != caller.region_code:
        raise ReportError(f"this ADMIN token acts only in region {caller.region_code}")
    units = list(session.execute(select(UnitRow).where(UnitRow.region_code == region).order_by(UnitRow.code)).scalars())
    if not units:
        raise ReportError(f"no unit in region {region}")
    return units


def build_pack(session, *, caller: Caller, unit: str | None, region: str | None, purpose: str, today: date,
               calendar=None) -> Pack:
    """The pack for ``unit`` (or every unit of ``region``), for an audit or an inspection team."""
    if caller.role is not Role.ADMIN:
        raise ReportError(f"role {caller.role.value} may not build data packs (the office does)")
    if purpose not in PURPOSES:
        raise ReportError(f"--for must be audit or inspection, not {purpose!r}")
    if not unit and not region:
        raise ReportError("give --unit CODE (one unit) or --region CODE (every unit of a district)")
    units = _units(session, caller, unit, region)
    codes = [u.code for u in units]
    names = {u.code: u.name for u in units}
    zh, en = PURPOSES[purpose]
    subject = f"{units[0].name} {units[0].code}" if unit else f"区划 {region}（{len(units)}个单位）"
    params = {"unit": unit and units[0].code, "region": region, "for": purpose}
    tables: list[ReportTable] = []
    reads: list[str] = []

    def catalogue(name: str, p: dict) -> ReportTable:
        t, rd = run(get(name), session, p, caller=caller, today=today, calendar=calendar)
        reads.extend(rd)
        return t

    if unit:
        tables.append(catalogue("establishment-ledger", {"unit": codes[0]}))
        tables.append(catalogue("unit-history", {"unit": codes[0]}))
    else:
        tables.append(catalogue("region-summary", {"region": region}))
        for code in codes:
            t = catalogue("establishment-ledger", {"unit": code})
            t.name, t.title = f"ledger-{code[-6:]}", f"{t.title} — {names[code]}"
            tables.append(t)

    doc_rows = []
    for code in codes:
        for d in unit_documents(session, code):
            doc = d.document
            doc_rows.append([code, names[code], d.number, d.first_used, "; ".join(d.uses), doc.title if doc else "（未登记）",
                             doc.issuer if doc else "", doc.issued_on if doc else None])
    tables.append(_table("documents", "文件 Documents", [
        ("unit", "单位代码"), ("unit_name", "单位名称"), ("number", "文号"), ("first_used", "首次使用"), ("uses", "涉及事项"),
        ("title", "文件标题"), ("issuer", "发文机关"), ("issued_on", "发文日期")], doc_rows, params, today))

    staff = session.execute(
        select(PostingRow.unit_code, PersonRow.name, PostingRow.id_number, PostingRow.category, PostingRow.leader_rank,
               PostingRow.start_date).join(PersonRow, PersonRow.id_number == PostingRow.id_number)
        .where(PostingRow.active, PostingRow.unit_code.in_(codes))
        .order_by(PostingRow.unit_code, PostingRow.start_date, PostingRow.id_number)).all()
    reads += [s[2] for s in staff]
    tables.append(_table("staff", "在编人员名单 Staff in post", [
        ("unit", "单位代码"), ("name", "姓名"), ("id_number", "身份证号"), ("category", "编制类型"),
        ("leader_rank", "领导职务"), ("start_date", "进编日期")], [list(s) for s in staff], params, today))

    mism = session.execute(select(MismatchRow).where(MismatchRow.status == "OPEN", MismatchRow.unit_code.in_(codes))
                           .order_by(MismatchRow.unit_code, MismatchRow.kind, MismatchRow.detected_at)).scalars().all()
    mrows = []
    for m in mism:
        if m.kind not in UNIT_LEVEL:  # a person's mismatch: its subject is an ID number
            reads.append(m.subject)
        mrows.append([m.id, m.kind, m.unit_code, m.subject, m.source, office_date(m.detected_at),
                      (today - office_date(m.detected_at)).days, _short(loads(m.details))])
    tables.append(_table("open-mismatches", "未处理比对问题 Open mismatches", [
        ("mismatch_id", "编号"), ("kind", "问题类型"), ("unit", "单位代码"), ("subject", "对象"), ("source", "来源"),
        ("detected_on", "发现日期"), ("age_days", "天数"), ("details", "详情")], mrows, params, today))

    found = session.execute(select(FindingRow).where(FindingRow.unit_code.in_(codes))
                            .order_by(FindingRow.unit_code, FindingRow.id)).scalars().all()
    frows = []
    for f in found:
        st, cat = sv.FindingStatus(f.status), sv.FindingCategory(f.category)
        frows.append([f.id, f.unit_code, sv.FindingSource(f.source).label, cat.label, st.label, f.title, f.description,
                      f.recommendation, f.responsible_party, f.deadline,
                      "是" if sv.is_overdue(st, f.deadline, today) else "否", office_date(f.recorded_at),
                      office_date(f.closed_at) if f.closed_at else None, f.reference or ""])
    tables.append(_table("findings", "整改事项 Findings", [
        ("finding_id", "编号"), ("unit", "单位代码"), ("source", "来源"), ("category", "违规类别"), ("status", "状态"),
        ("title", "事项"), ("description", "情况"), ("recommendation", "整改建议"), ("responsible_party", "责任主体"),
        ("deadline", "整改期限"), ("overdue", "是否逾期"), ("recorded_on", "登记日期"), ("closed_on", "销号日期"),
        ("reference", "报告文号")], frows, params, today))

    steps = session.execute(select(FindingStepRow).where(FindingStepRow.finding_id.in_([f.id for f in found]))
                            .order_by(FindingStepRow.finding_id, FindingStepRow.id)).scalars().all() if found else []
    srows = []
    for s in steps:
        ev = loads(s.evidence)
        reads += [e["ref"] for e in ev if e["kind"] == sv.EvidenceKind.PERSON.value]
        srows.append([s.finding_id, office_date(s.at), sv.StepAction(s.action).label, s.actor, s.role,
                      sv.FindingStatus(s.status_after).label, s.comment or "",
                      "; ".join(f"{sv.EvidenceKind(e['kind']).label} {e['ref']}" for e in ev)])
    for f in found:  # the evidence given when each finding was recorded is on its RECORDED step too
        reads += [e["ref"] for e in loads(f.evidence) if e["kind"] == sv.EvidenceKind.PERSON.value]
    tables.append(_table("rectification", "整改过程 Rectification steps", [
        ("finding_id", "事项编号"), ("date", "日期"), ("action", "步骤"), ("actor", "经办"), ("role", "角色"),
        ("status", "状态"), ("comment", "说明"), ("evidence", "证据")], srows, params, today))
    return Pack(title=f"{zh} {en} — {subject}", tables=tables, person_reads=sorted(set(reads)))


def _short(details) -> str:
    if not isinstance(details, dict):
        return ""
    return "; ".join(f"{k}={v}" for k, v in sorted(details.items()))[:300]
