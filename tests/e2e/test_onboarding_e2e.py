"""One onboarding through `hub up`, as the office runs it: a unit submits, 组织部 reviews, the office approves; the
`gov.registry.posting.started` event is read from Kafka by a third-party client (confluent-kafka) with the approval
form's number, and the printable form (进编审批表) opens in headless Chromium from its number and code."""

from __future__ import annotations

import base64
import json
import re

import httpx

from tests.e2e.hub_process import HubProcess
from tests.e2e.test_graphiql_offline import chromium  # noqa: F401  (the fixture)
from tests.factories import id_number, unit_code
from tests.kafka_tools import TopicReader


def _gql(hub: HubProcess, token: str, query: str, variables: dict | None = None) -> dict:
    r = httpx.post(hub.url + "/graphql", json={"query": query, "variables": variables or {}},
                   headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    assert "errors" not in r, r
    return r["data"]


def test_an_onboarding_reaches_kafka_with_its_form_number_and_the_form_prints(tmp_path, chromium):  # noqa: F811
    hub = HubProcess(tmp_path / "data").start()
    try:
        admin = hub.run("token", "create", "--role", "ADMIN", "--name", "市编办").stdout.strip().splitlines()[-1]
        org = hub.run("token", "create", "--role", "ORGANIZATION", "--name", "组织部").stdout.strip().splitlines()[-1]
        code = unit_code(5100)
        _gql(hub, admin, """mutation($c: String!) { createUnit(unit: {code: $c, name: "杭州市审判试点局", kind: COURT,
             level: CITY, regionCode: "330100", funding: FULL}, effectiveDate: "2024-01-01") { __typename } }""", {"c": code})
        _gql(hub, admin, """mutation($c: String!) { setQuota(unitCode: $c, category: POLITICAL_LEGAL, approved: 1,
             effectiveDate: "2024-01-01", documentNumber: "杭编〔2024〕7号") { __typename } }""", {"c": code})
        unit = hub.run("token", "create", "--role", "UNIT", "--unit", code, "--name", "人事处").stdout.strip().splitlines()[-1]
        assert (tmp_path / "data" / "form-key").exists()  # the forms' key lives outside the database

        idn = id_number()
        r = _gql(hub, unit, """mutation($a: OnboardingInput!) { submitOnboarding(application: $a) {
                 __typename ... on OnboardingPayload { onboarding { id requiredReviews } } } }""",
                 {"a": {"unitCode": code, "idNumber": idn, "name": "陈静", "category": "POLITICAL_LEGAL",
                        "route": "CIVIL_SERVICE_EXAM", "startDate": "2026-09-01", "education": "MASTER"}})
        oid = r["submitOnboarding"]["onboarding"]["id"]
        assert r["submitOnboarding"]["onboarding"]["requiredReviews"] == ["ORGANIZATION"]
        assert _gql(hub, org, 'mutation($i: ID!) { reviewOnboarding(id: $i, approve: true, comment: "同意") { __typename } }',
                    {"i": oid})["reviewOnboarding"]["__typename"] == "OnboardingPayload"
        r = _gql(hub, admin, """mutation($i: ID!) { approveOnboarding(id: $i) { __typename ... on OnboardingPayload {
                 onboarding { status form { number code url } } } } }""", {"i": oid})
        onboarding = r["approveOnboarding"]["onboarding"]
        assert onboarding["status"] == "APPROVED"
        form = onboarding["form"]

        bootstrap = re.search(r"Kafka bootstrap servers: (\S+)", hub.output()).group(1)
        reader = TopicReader(bootstrap, "registry.updates.v1")
        try:
            def started(ms):
                return any(json.loads(m.value())["type"] == "gov.registry.posting.started"
                           and json.loads(m.value())["subject"] == idn for m in ms)
            reader.poll_until(started, 60)
            event = next(v for v in reader.values() if v["type"] == "gov.registry.posting.started" and v["subject"] == idn)
        finally:
            reader.close()
        assert event["data"]["form_number"] == form["number"]
        assert event["data"]["unit_code"] == code and event["data"]["category"] == "POLITICAL_LEGAL"

        # The printable form in a real browser, from the number and code printed on it.
        cdp = chromium
        cdp.send("Page.enable")
        cdp.send("Runtime.enable")
        cdp.send("Page.navigate", {"url": hub.url + form["url"]})
        cdp.wait_for("document.readyState === 'complete' && !!document.getElementById('title')", what="the form page")
        assert cdp.evaluate("document.getElementById('title').textContent") == "进编审批表"
        assert cdp.evaluate("document.getElementById('number').textContent") == form["number"]
        assert cdp.evaluate("document.getElementById('code').textContent") == form["code"]
        facts = cdp.evaluate("document.getElementById('facts').innerText")
        for text in ("陈静", idn, "杭州市审判试点局", "政法专项编制", "公务员考试录用", "2026-09-01"):
            assert text in facts, facts
        pdf = base64.b64decode(cdp.send("Page.printToPDF", {"printBackground": True})["data"])
        assert pdf.startswith(b"%PDF") and len(pdf) > 1000
        # The page's Content-Security-Policy lets its own print script run: the 打印 button prints.
        cdp.evaluate("window.print = () => { window.__printed = true; }; true")
        cdp.click("#print")
        cdp.wait_for("window.__printed === true", what="the print button calling window.print()")
        # A departure's comment full of markup shows as text on its 减员通知单 and runs nothing.
        comment = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
        r = _gql(hub, admin, """mutation($i: String!, $c: String) { endPosting(idNumber: $i, endDate: "2026-10-31",
                 reason: RESIGNATION, comment: $c) { __typename ... on PostingPayload { form { url } } } }""",
                 {"i": idn, "c": comment})
        cdp.send("Page.navigate", {"url": hub.url + r["endPosting"]["form"]["url"]})
        cdp.wait_for("document.readyState === 'complete' && !!document.getElementById('facts')", what="the departure form")
        assert cdp.evaluate("document.getElementById('title').textContent") == "减员通知单"
        assert comment in cdp.evaluate("document.getElementById('facts').innerText")
        assert cdp.evaluate("window.__xss === undefined && document.querySelectorAll('#facts img, #facts script').length === 0")
        # A changed code is refused, in the browser too.
        cdp.send("Page.navigate", {"url": hub.url + f"/forms/{form['number']}?code={'0' * 16}"})
        cdp.wait_for("document.readyState === 'complete' && !!document.getElementById('title') && "
                     "document.getElementById('title').textContent === '审批表核验失败'", what="the refusal page")
    finally:
        assert hub.stop() == 0, hub.output()
