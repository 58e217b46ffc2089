"""The printable approval form (GET /forms/{number}?code=…): an HTML page in Chinese, served only when number and
verification code belong together and the form's facts are unchanged. Number and code are what is printed on the
paper form, so whoever holds the paper (a finance or social-insurance clerk) may open it without a token."""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hub.adapters.database import Database
from hub.api.access import FORM_PAGE, FormHolder, write_reads
from hub.domain.vocabulary import FormKind
from hub.domain.workflows import FORM_TITLE
from hub.service_layer.workflows.forms import genuine_form

LABELS = {
    "onboarding_id": "申请编号", "hiring_plan_id": "用编计划编号", "posting_id": "在编记录编号", "unit_code": "单位统一社会信用代码",
    "unit_name": "单位名称", "id_number": "公民身份号码", "name": "姓名", "category": "编制类型", "route": "录用途径",
    "start_date": "进编日期", "end_date": "出编日期", "reason": "出编原因代码", "reason_zh": "出编原因", "comment": "备注",
    "from_unit_code": "调出单位代码", "from_unit_name": "调出单位", "from_category": "原编制类型", "to_unit_code": "调入单位代码",
    "to_unit_name": "调入单位", "to_category": "调入编制类型", "effective_date": "生效日期", "year": "计划年度",
    "slots": "申请编制数", "approved_slots": "核准编制数", "appointment_id": "职数使用编号", "from_rank": "原领导职级",
    "to_rank": "任领导职级", "document_number": "任免文号", "issued_at": "签发时间", "issued_by": "经办",
}
CATEGORY_ZH = {"ADMINISTRATIVE": "行政编制", "POLITICAL_LEGAL": "政法专项编制", "PUBLIC_INSTITUTION": "事业编制", "WORKER": "工勤编制"}
ROUTE_ZH = {"CIVIL_SERVICE_EXAM": "公务员考试录用", "SELECTED_GRADUATE": "选调生", "OPEN_SELECTION": "公开遴选、选调",
            "TRANSFER_IN": "调任、调入", "OPEN_RECRUITMENT": "事业单位公开招聘", "TALENT_INTRODUCTION": "人才引进",
            "MILITARY_TRANSFER": "军队转业安置", "POLICY_PLACEMENT": "其他政策性安置"}
_SHOWN = [k for k in LABELS if k not in ("reason",)]

_STYLE = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; margin: 2em; }
h1 { text-align: center; letter-spacing: .3em; }
table { border-collapse: collapse; width: 100%; max-width: 46em; margin: 0 auto; }
th, td { border: 1px solid #333; padding: .5em .8em; text-align: left; }
th { width: 12em; background: #f3f3f3; font-weight: normal; }
.meta { max-width: 46em; margin: 1em auto; display: flex; justify-content: space-between; }
@media print { .noprint { display: none; } }
"""


_PRINT = "document.getElementById('print').addEventListener('click', function () { window.print(); });"


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


# The page carries a person's identity: never cached, never framed, no referrer; the browser runs only the page's own
# style and print script (their hashes), so even a value that escaped escaping could not run or load anything.
HEADERS = {
    "Content-Security-Policy": (f"default-src 'none'; style-src {_sha256(_STYLE)}; script-src {_sha256(_PRINT)}; "
                                "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _value(key: str, v) -> str:
    if key in ("category", "from_category", "to_category"):
        return CATEGORY_ZH.get(v, v)
    if key == "route":
        return ROUTE_ZH.get(v, v)
    return "" if v is None else str(v)


def render(number: str, code: str, kind: FormKind, facts: dict) -> str:
    title = FORM_TITLE[kind]
    rows = "".join(f"<tr><th>{escape(LABELS[k])}</th><td>{escape(_value(k, facts[k]))}</td></tr>"
                   for k in _SHOWN if facts.get(k) not in (None, ""))
    return (f"<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{escape(title)} {escape(number)}</title>"
            f"<style>{_STYLE}</style></head><body><h1 id=\"title\">{escape(title)}</h1>"
            f"<div class=\"meta\"><span>编号：<b id=\"number\">{escape(number)}</b></span>"
            f"<span>验证码：<b id=\"code\">{escape(code)}</b></span></div>"
            f"<table id=\"facts\">{rows}</table>"
            f"<p class=\"meta\">本表由机构编制实名制系统生成，可凭编号和验证码在系统中核验真伪。</p>"
            f"<p class=\"noprint meta\"><button id=\"print\" type=\"button\">打印</button></p>"
            f"<script>{_PRINT}</script></body></html>")


def not_found() -> str:
    return ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>审批表核验失败</title></head>"
            "<body><h1 id=\"title\">审批表核验失败</h1><p>未找到该编号的审批表，或验证码不符。</p></body></html>")


def forms_router(db: Database, key: bytes) -> APIRouter:
    router = APIRouter()

    @router.get("/forms/{number}", response_class=HTMLResponse)
    def form_page(number: str, code: str = ""):
        with db.read_session() as s:
            row = genuine_form(s, key, number, code)
            if row is None:
                return HTMLResponse(not_found(), status_code=404, headers=HEADERS)
            number, facts = row.number, json.loads(row.facts)
            page = render(number, row.code, FormKind(row.kind), facts)
        # The page shows a person's name and ID number: a read of person data, logged (durably, before the page goes
        # out) as every other read is — the paper's holder has no token, so the form number says who looked.
        if facts.get("id_number"):
            write_reads(db, principal=FormHolder(number), reads=[(facts["id_number"], number, FORM_PAGE, None, None)])
        return HTMLResponse(page, headers=HEADERS)

    return router
