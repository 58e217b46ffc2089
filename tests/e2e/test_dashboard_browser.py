"""The dashboard (/dashboard) in a real browser on a demo city: `hub up`, `hub demo`, headless Chromium over the
DevTools protocol (the client of tests/e2e/test_graphiql_offline.py).

The test signs in with a token typed into the page, checks the headline numbers against the database, watches
partner events become mismatches in the live feed (an ADMIN sees the ID number, a MONITOR its masked form),
drills down city → district → unit → ledger with real mouse clicks (on the ECharts bar, then on table rows),
downloads a CSV export (fetch with the token, saved from a Blob), switches to English, signs in as a district
office and sees its district only. It saves screenshots (docs/dashboard-screenshot.png, the ledger in
docs/dashboard-ledger.png) and fails on any console error, page exception or request leaving 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
from sqlalchemy import func, select

from hub.adapters.calendar_file import load_calendar
from hub.adapters.database import connect
from hub.adapters.orm import MismatchRow, PersonRow, PostingRow, UnitRow
from hub.service_layer import absorption, scorecards
from hub.service_layer.establishment import establishments
from tests import events as ev
from tests.e2e.hub_process import HubProcess
from tests.e2e.test_graphiql_offline import chromium  # noqa: F401  (the fixture)
from tests.factories import id_number
from tests.kafka_tools import PartnerProducer
from hub.domain.calendar import office_today

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
DISTRICT = "330106"  # 西湖区
KPIS = ("units", "approved", "used", "available", "over", "mismatches")


def expected_headline(db_url: str, region: str | None = None) -> dict:
    """The headline numbers straight from the database."""
    from datetime import date

    db = connect(db_url)
    try:
        with db.read_session() as s:
            q = select(UnitRow.code).where(UnitRow.status == "ACTIVE")
            if region:
                q = q.where(UnitRow.region_code == region)
            codes = list(s.execute(q).scalars())
            est = establishments(s, codes, today=office_today()).values()
            approved = sum(sum(e.approved.values()) for e in est)
            used = sum(sum(e.used.values()) for e in est)
            reserved = sum(sum(e.reserved.values()) for e in est)
            over = s.scalar(select(func.count(func.distinct(MismatchRow.subject))).where(
                MismatchRow.kind == "OVER_QUOTA", MismatchRow.status == "OPEN", MismatchRow.subject.in_(codes)))
            open_ = s.scalar(select(func.count()).select_from(MismatchRow).where(MismatchRow.status == "OPEN"))
            return {"units": len(codes), "approved": approved, "used": used, "available": approved - used - reserved,
                    "over": over, "mismatches": open_}
    finally:
        db.dispose()


def expected_pyramid(db_url: str, region: str | None = None) -> tuple[list[int], list[int]]:
    """Men and women in post per age band (under 30, 30-39, 40-49, 50-54, 55+) today, straight from the database."""
    from datetime import date

    today = office_today()
    men, women = [0] * 5, [0] * 5
    db = connect(db_url)
    try:
        with db.read_session() as s:
            q = (select(PersonRow.birth_date, PersonRow.gender).join(PostingRow, PostingRow.id_number == PersonRow.id_number)
                 .join(UnitRow, UnitRow.code == PostingRow.unit_code)
                 .where(PostingRow.active, UnitRow.status == "ACTIVE"))
            if region:
                q = q.where(UnitRow.region_code == region)
            for birth, gender in s.execute(q):
                age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
                band = 0 if age < 30 else 1 if age < 40 else 2 if age < 50 else 3 if age < 55 else 4
                (women if gender == "F" else men)[band] += 1
    finally:
        db.dispose()
    return men, women


def expected_supervision(db_url: str, region: str | None = None):
    """Issue 17 from the database: the scorecard ranking (district offices city-wide, units in a district's view) and
    the units of the over-quota absorption ledger."""
    from datetime import date

    db = connect(db_url)
    try:
        with db.read_session() as s:
            cards = scorecards.compute(s, year=office_today().year, today=office_today(), calendar=load_calendar(None),
                                       region=region)
            ledger = absorption.ledger(s, today=office_today(), region=region)
    finally:
        db.dispose()
    ranking = [u.code for u in cards.units] if region else [o.region_code for o in cards.offices]
    return ranking, len(cards.units), [x.unit_name for x in ledger]


def open_card_report(cdp, card: str, report: str, rows: int) -> None:
    """One click on the card's 查看报表: the report opens with ``rows`` rows."""
    cdp.evaluate(f"document.querySelector('#{card} [data-report=\"{report}\"]').scrollIntoView()")
    cdp.click(f"#{card} [data-report=\"{report}\"]")
    cdp.wait_for(f"!document.getElementById('report-view').hidden && document.querySelectorAll("
                 f"'#report-view table[data-report-table={report}] tbody tr').length === {rows}", what=f"the {report} report")


def chart_pyramid(cdp) -> tuple[list[int], list[int]]:
    """The pyramid as ECharts draws it: men as negative bars on the left, women on the right."""
    got = json.loads(cdp.evaluate("""JSON.stringify((() => {
        const o = echarts.getInstanceByDom(document.getElementById('card-age-chart')).getOption();
        return [o.series[0].data, o.series[1].data]; })())"""))
    assert all(v <= 0 for v in got[0]) and all(v >= 0 for v in got[1]), got  # mirrored
    return [-v for v in got[0]], got[1]


def headline(cdp) -> dict:
    text = cdp.evaluate("JSON.stringify(%s.map(k => document.getElementById('kpi-' + k).textContent))" % json.dumps(KPIS))
    return {k: int(v.replace(",", "")) for k, v in zip(KPIS, json.loads(text))}


def wait_headline(cdp, db_url: str, region: str | None = None, keys=KPIS, timeout: float = 30) -> dict:
    """The page's headline numbers equal the database's (read again each time: `hub up` may open a mismatch of its
    own meanwhile, and the live feed refreshes the headline when it does)."""
    deadline = time.monotonic() + timeout
    while True:
        want = expected_headline(db_url, region)
        got = headline(cdp)
        if all(got[k] == want[k] for k in keys):
            return want
        if time.monotonic() > deadline:
            assert {k: got[k] for k in keys} == {k: want[k] for k in keys}
        time.sleep(0.5)


def screenshot(cdp, tmp_path: Path, name: str) -> None:
    png = base64.b64decode(cdp.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"])
    (tmp_path / name).write_bytes(png)
    target = DOCS / name
    if os.environ.get("HUB_UPDATE_DOCS_SCREENSHOT") == "1" or not target.exists():
        shutil.copyfile(tmp_path / name, target)


def sign_in(cdp, hub, token: str) -> None:
    cdp.send("Page.navigate", {"url": hub.url + "/dashboard"})
    cdp.wait_for("document.readyState === 'complete' && !!document.getElementById('token')", what="the page")
    cdp.click("#token")
    cdp.send("Input.insertText", {"text": token})
    cdp.click("#signin-btn")
    cdp.wait_for("document.body.getAttribute('data-loaded') === 'yes' && "
                 "document.body.getAttribute('data-headline') === 'ready'", timeout=60, what="the dashboard to load")
    cdp.wait_for("document.getElementById('feed-status').getAttribute('data-state') === 'connected'", timeout=20,
                 what="the live feed to connect")
    assert cdp.evaluate("sessionStorage.getItem('hub.dashboard.token')") == token
    assert cdp.evaluate("localStorage.length === 0 || !JSON.stringify(localStorage).includes(%s)" % json.dumps(token))
    assert cdp.evaluate("document.getElementById('token').value") == ""


def watch_live(cdp, producer: PartnerProducer, idn: str, unit: str, shown: str) -> None:
    """A payroll line for a person the registry does not know: GHOST_PAYROLL, pushed to the open page."""
    producer.send_event(ev.paid(idn, "无名氏", unit))
    producer.flush()
    cdp.wait_for(f"!!document.querySelector('#feed li[data-subject=\"{shown}\"][data-kind=\"GHOST_PAYROLL\"]')",
                 timeout=60, what=f"mismatch {shown} in the live feed")


def _overdue_finding(hub, db, unit: str, title: str) -> str:
    """An audit finding recorded with `hub finding record`, then its deadline moved into the past: overdue."""
    from datetime import date, timedelta

    from sqlalchemy import update

    from hub.adapters.orm import FindingRow

    made = hub.run("finding", "record", "--unit", unit, "--source", "AUDIT", "--category", "OVER_QUOTA_HIRING",
                   "--title", title, "--description", "审计发现", "--recommendation", "限期消化", "--responsible", "单位",
                   "--deadline", office_today().isoformat(), "--json").stdout
    with db.session() as s, s.begin():
        s.execute(update(FindingRow).where(FindingRow.id == json.loads(made)["id"])
                  .values(deadline=office_today() - timedelta(days=3)))
    return title


def test_dashboard_on_a_demo_city_in_a_real_browser(tmp_path, chromium):  # noqa: F811
    hub = HubProcess(tmp_path / "data").start()
    cdp = chromium
    try:
        db_url = f"sqlite:///{(tmp_path / 'data' / 'hub.sqlite3').resolve()}"
        hub.run("demo", "--persons", "600", "--events", "0")
        admin = hub.run("token", "create", "--role", "ADMIN", "--name", "office").stdout.strip().splitlines()[-1]
        monitor = hub.run("token", "create", "--role", "MONITOR", "--name", "watch").stdout.strip().splitlines()[-1]
        xihu = hub.run("token", "create", "--role", "ADMIN", "--name", "xihu", "--region",
                       DISTRICT).stdout.strip().splitlines()[-1]
        bootstrap = re.search(r"Kafka bootstrap servers: (\S+)", hub.output()).group(1)
        producer = PartnerProducer(bootstrap)
        db = connect(db_url)
        with db.read_session() as s:
            unit, unit_name = s.execute(select(UnitRow.code, UnitRow.name).where(
                UnitRow.status == "ACTIVE", UnitRow.region_code == DISTRICT).order_by(UnitRow.code)).first()
            city_unit = s.execute(select(UnitRow.code).where(UnitRow.status == "ACTIVE", UnitRow.region_code != DISTRICT)
                                  .order_by(UnitRow.code)).scalars().first()
        overdue = {unit: _overdue_finding(hub, db, unit, "西湖区逾期整改事项"),
                   city_unit: _overdue_finding(hub, db, city_unit, "市本级逾期整改事项")}
        db.dispose()

        for domain in ("Network", "Page", "Runtime", "Log"):
            cdp.send(f"{domain}.enable")
        cdp.send("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 1000, "deviceScaleFactor": 1,
                                                        "mobile": False})
        downloads = tmp_path / "downloads"
        downloads.mkdir()
        cdp.send("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})

        # Signed in as the office: Chinese by default, headline numbers as the database has them.
        sign_in(cdp, hub, admin)
        assert cdp.evaluate("document.documentElement.lang") == "zh-CN"
        assert cdp.evaluate("document.querySelector('[data-i18n=kpiUnits]').textContent") == "机构数"
        want = wait_headline(cdp, db_url)
        assert want["units"] > 20 and want["approved"] > want["used"] > 0 and want["over"] >= 1
        db = connect(db_url)
        with db.read_session() as s:  # the over-quota warnings name every unit with an open OVER_QUOTA
            over_names = set(s.execute(select(UnitRow.name).where(UnitRow.code.in_(select(MismatchRow.subject).where(
                MismatchRow.kind == "OVER_QUOTA", MismatchRow.status == "OPEN")))).scalars())
        db.dispose()
        over_text = cdp.evaluate("document.getElementById('card-over').textContent")
        assert over_names and all(n in over_text for n in over_names), (over_names, over_text)
        # The overdue findings (整改事项 past their deadline), with their Chinese labels.
        assert int(cdp.evaluate("document.getElementById('card-findings').getAttribute('data-count')")) == len(overdue)
        findings_text = cdp.evaluate("document.getElementById('card-findings').textContent")
        assert all(title in findings_text for title in overdue.values()) and "超编进人" in findings_text, findings_text
        assert "待整改" in findings_text and "逾期整改事项" in findings_text
        # issue 17: the scorecard's district ranking and the absorption ledger as the database gives them, each one
        # click from its report
        ranking, units, absorbing = expected_supervision(db_url)
        assert len(ranking) >= 10 and absorbing, (ranking, absorbing)
        assert cdp.evaluate("document.getElementById('card-scorecard').getAttribute('data-ranking')").split(",") == ranking
        assert int(cdp.evaluate("document.getElementById('card-absorption').getAttribute('data-count')")) == len(absorbing)
        ledger_text = cdp.evaluate("document.getElementById('card-absorption').textContent")
        assert all(n in ledger_text for n in absorbing), (absorbing, ledger_text)
        open_card_report(cdp, "card-scorecard", "scorecards", units)
        open_card_report(cdp, "card-absorption", "absorption-ledger", len(absorbing))
        cdp.evaluate("window.scrollTo(0, 0)")
        regions = cdp.evaluate("document.getElementById('card-quota').getAttribute('data-regions')").split(",")
        assert DISTRICT in regions and len(regions) >= 10
        for card in ("card-age", "card-education", "card-rank"):
            assert int(cdp.evaluate(f"document.getElementById('{card}').getAttribute('data-total')")) > 0, card
            assert cdp.evaluate(f"!!document.querySelector('#{card} canvas')"), card
        # The age pyramid: the city's men and women per band as the database counts them, then one district's
        # (the card's district picker, a real selection).
        men, women = expected_pyramid(db_url)
        assert sum(men) > 0 and sum(women) > 0
        assert chart_pyramid(cdp) == (men, women)
        assert int(cdp.evaluate("document.getElementById('card-age').getAttribute('data-total')")) == sum(men + women)
        cdp.evaluate("(() => { const s = document.getElementById('age-district'); s.value = %s; "
                     "s.dispatchEvent(new Event('change')); })()" % json.dumps(DISTRICT))
        cdp.wait_for("document.getElementById('card-age').getAttribute('data-pyramid-region') === %s" % json.dumps(DISTRICT),
                     what="the district's pyramid")
        assert chart_pyramid(cdp) == expected_pyramid(db_url, DISTRICT) != (men, women)

        # A new mismatch appears live, and the headline count follows it.
        ghost = id_number(serial=1)
        watch_live(cdp, producer, ghost, unit, ghost)
        before = want["mismatches"]
        want = wait_headline(cdp, db_url)
        assert want["mismatches"] > before  # the page counted the new one without a reload
        screenshot(cdp, tmp_path, "dashboard-screenshot.png")

        # Drill down: a real click on the district's bar in the ECharts chart ...
        point = cdp.evaluate("""(() => {
            const box = document.getElementById('card-quota-chart'), r = box.getBoundingClientRect();
            const chart = echarts.getInstanceByDom(box);
            const i = document.getElementById('card-quota').getAttribute('data-regions').split(',').indexOf(%s);
            const values = chart.getOption().series.map(s => s.data[i]);
            const [x, y] = chart.convertToPixel({seriesIndex: 0}, [i, values[0] / 2]);
            return {x: r.left + x, y: r.top + y}; })()""" % json.dumps(DISTRICT))
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            cdp.send("Input.dispatchMouseEvent", {"type": kind, "x": point["x"], "y": point["y"], "button": "left",
                                                  "clickCount": 1})
        cdp.wait_for(f"location.hash === '#{DISTRICT}' && document.body.getAttribute('data-loaded') === 'yes'",
                     timeout=30, what="the district view")
        assert "西湖区" in cdp.evaluate("document.getElementById('crumbs').textContent")
        wait_headline(cdp, db_url, DISTRICT, keys=("units", "approved", "used", "available", "over"))
        assert chart_pyramid(cdp) == expected_pyramid(db_url, DISTRICT)  # the district view draws its own pyramid
        # ... then the unit's row, then its ledger (establishment-ledger), exported as CSV with the token.
        row = "#card-units tbody tr"
        cdp.wait_for(f"!!document.querySelector('{row}')", what="the district's units")
        codes = cdp.evaluate(f"[...document.querySelectorAll('{row}')].map(tr => tr.cells[0].textContent)")
        assert unit in codes
        cdp.evaluate(f"document.querySelectorAll('{row}')[{codes.index(unit)}].scrollIntoView()")
        cdp.click(f"#card-units tbody tr:nth-child({codes.index(unit) + 1})")
        cdp.wait_for(f"location.hash === '#{DISTRICT}/{unit}' && !!document.querySelector("
                     "'#card-ledger table[data-report-table=establishment-ledger] tbody tr')", timeout=30, what="the ledger")
        assert unit_name in cdp.evaluate("document.getElementById('card-ledger').textContent")
        screenshot(cdp, tmp_path, "dashboard-ledger.png")
        cdp.evaluate("document.querySelector('#card-ledger [data-export=\"establishment-ledger.csv\"]').scrollIntoView()")
        cdp.click("#card-ledger [data-export=\"establishment-ledger.csv\"]")
        cdp.wait_for("(document.body.getAttribute('data-last-export') || '').startsWith('establishment-ledger.csv:')",
                     what="the CSV export")
        deadline = time.monotonic() + 20
        while not list(downloads.glob("establishment-ledger-*.csv")) and time.monotonic() < deadline:
            time.sleep(0.2)
        saved = list(downloads.glob("establishment-ledger-*.csv"))
        assert saved, list(downloads.iterdir())
        text = saved[0].read_text(encoding="utf-8")
        assert text.splitlines()[0] == "section,item,value,approved,used,reserved,vacant,document,effective_date"
        assert unit in text
        cdp.click("#card-ledger [data-export=\"establishment-ledger.xlsx\"]")
        deadline = time.monotonic() + 20
        while not list(downloads.glob("establishment-ledger-*.xlsx")) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)  # the file is renamed into place when complete
        book = openpyxl.load_workbook(next(downloads.glob("establishment-ledger-*.xlsx")))
        values = [list(v) for v in book.active.iter_rows(values_only=True)]
        assert values[0][0].startswith("机构编制台账") and values[2][:3] == ["section", "item", "value"]
        assert any(unit in [str(c) for c in v] for v in values[3:])
        exports = [r["request"] for r in cdp.events_named("Network.requestWillBeSent")
                   if urlsplit(r["request"]["url"]).path.startswith("/dashboard/export/")]
        assert exports and all({k.lower(): v for k, v in r["headers"].items()}.get("authorization") == f"Bearer {admin}"
                               for r in exports)
        assert all(f"unit={unit}" in r["url"] for r in exports)
        # The report behind a chart, one click away.
        cdp.click("#card-rank [data-report=\"rank-structure\"]")
        cdp.wait_for("!document.getElementById('report-view').hidden && "
                     "!!document.querySelector('#report-view table[data-report-table=rank-structure] tbody tr')",
                     what="the rank-structure report")

        # English on a switch.
        cdp.evaluate("window.scrollTo(0, 0)")
        cdp.click("#lang")
        cdp.wait_for("document.documentElement.lang === 'en' && "
                     "document.querySelector('[data-i18n=kpiUnits]').textContent === 'Units'", what="English")
        cdp.wait_for("document.body.getAttribute('data-loaded') === 'yes'", timeout=30, what="the page in English")
        cdp.evaluate("window.scrollTo(0, 0)")
        cdp.click("#lang")
        cdp.wait_for("document.documentElement.lang === 'zh-CN'", what="Chinese again")

        # MONITOR: masked ID numbers in the feed, no age pyramid (birth dates), the rest as the office sees it.
        cdp.click("#signout-btn")
        cdp.wait_for("document.readyState === 'complete' && document.body.getAttribute('data-signed-in') === 'no'",
                     what="signed out")
        assert cdp.evaluate("sessionStorage.getItem('hub.dashboard.token')") is None
        sign_in(cdp, hub, monitor)
        assert headline(cdp)["units"] == want["units"]
        assert cdp.evaluate("!!document.querySelector('#card-age [data-refused]')")
        assert cdp.evaluate("!!document.querySelector('#card-findings [data-refused]')")  # findings: not MONITOR's
        assert cdp.evaluate("!!document.querySelector('#card-scorecard [data-refused]')")  # office roles only
        assert cdp.evaluate("!!document.querySelector('#card-absorption [data-refused]')")
        ghost2 = id_number(serial=2)
        watch_live(cdp, producer, ghost2, unit, ghost2[:6] + "********" + ghost2[-4:])
        assert ghost2 not in cdp.evaluate("document.body.innerHTML")

        # A district office: its district only.
        cdp.click("#signout-btn")
        cdp.wait_for("document.readyState === 'complete' && document.body.getAttribute('data-signed-in') === 'no'",
                     what="signed out")
        sign_in(cdp, hub, xihu)
        assert cdp.evaluate("document.getElementById('card-quota').getAttribute('data-regions')") == DISTRICT
        cdp.wait_for("document.getElementById('card-findings').getAttribute('data-count') === '1'", what="its findings")
        assert overdue[unit] in cdp.evaluate("document.getElementById('card-findings').textContent")
        ranking, _, absorbing = expected_supervision(db_url, DISTRICT)
        assert cdp.evaluate("document.getElementById('card-scorecard').getAttribute('data-ranking')") == ",".join(ranking)
        wait_headline(cdp, db_url, DISTRICT, keys=("units", "approved", "used", "available", "over"))

        # Nothing left the machine; no page exception, no console error.
        urls = [r["request"]["url"] for r in cdp.events_named("Network.requestWillBeSent")]
        urls += [w["url"] for w in cdp.events_named("Network.webSocketCreated")]
        remote = [u for u in urls if not u.startswith(("data:", "blob:", "about:")) and urlsplit(u).hostname != "127.0.0.1"]
        assert not remote, remote
        paths = {urlsplit(u).path for u in urls}
        assert {"/dashboard/static/echarts.min.js", "/dashboard/static/dashboard.js", "/graphql"} <= paths
        assert not cdp.events_named("Runtime.exceptionThrown"), cdp.events_named("Runtime.exceptionThrown")
        errors = [e["entry"] for e in cdp.events_named("Log.entryAdded") if e["entry"].get("level") == "error"]
        errors += [e for e in cdp.events_named("Runtime.consoleAPICalled") if e.get("type") in ("error", "assert")]
        assert not errors, errors
    finally:
        code = hub.stop()
    assert code == 0, hub.output()
