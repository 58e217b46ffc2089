"""GraphiQL works offline: `hub up` serves the IDE and its assets itself, and a real browser runs a query.

Headless Chromium is driven over the DevTools protocol: it opens GET /graphql as a browser would (and is
redirected to /graphiql), types a bearer token into the token box, puts a query in the editor, clicks
the run button and reads the result pane. Every request the page makes is recorded
(Network.requestWillBeSent, Network.webSocketCreated) and must go to the hub on 127.0.0.1; the browser
also has every other host name mapped to nowhere, so a CDN reference could not load even by accident.

Chromium missing: skipped, except under CI=true, where that is a failure (`apt-get install chromium`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.hub_process import HubProcess
from tests.factories import unit_code

IN_CI = os.environ.get("CI", "").lower() == "true"
REPO = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOT = REPO / "docs" / "graphiql-screenshot.png"
QUERY = "{ units(first: 1) { totalCount } }"
SUBSCRIPTION = "subscription { registryUpdates { type subject } }"


def create_unit(hub: HubProcess, token: str, n: int) -> str:
    """Establish a unit through the API; returns its code."""
    code = unit_code(4200 + n)
    r = httpx.post(hub.url + "/graphql", headers={"Authorization": f"Bearer {token}"}, json={"query": """
        mutation { createUnit(unit: {code: "%s", name: "GraphiQL e2e %d", kind: GOVERNMENT_ORGAN, level: CITY,
          regionCode: "330100", funding: FULL}, effectiveDate: "2024-01-01", documentNumber: "E2E-%d") {
          __typename ... on UnitPayload { unit { code } } } }""" % (code, n, n)}).json()
    assert r.get("data", {}).get("createUnit", {}).get("unit", {}).get("code") == code, r
    return code


def chromium_executable() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


class DevTools:
    """A minimal DevTools-protocol client for one page target: commands by id, events collected in order."""

    def __init__(self, ws_url: str):
        from websockets.sync.client import connect

        self.stack = contextlib.ExitStack()
        self.ws = self.stack.enter_context(connect(ws_url, max_size=None, open_timeout=10))
        self.next_id = 0
        self.replies: dict[int, queue.Queue] = {}
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            for raw in self.ws:
                msg = json.loads(raw)
                if "id" in msg:
                    with self.lock:
                        q = self.replies.get(msg["id"])
                    if q is not None:
                        q.put(msg)
                else:
                    with self.lock:
                        self.events.append(msg)
        except Exception:  # noqa: BLE001 - the socket closes when the browser goes away
            pass

    def send(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        with self.lock:
            self.next_id += 1
            msg_id = self.next_id
            self.replies[msg_id] = q = queue.Queue()
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params or {}}))
        try:
            reply = q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"DevTools {method} got no answer in {timeout}s") from None
        if "error" in reply:
            raise AssertionError(f"DevTools {method} failed: {reply['error']}")
        return reply.get("result", {})

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30, what: str = ""):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what or expression}")

    def events_named(self, method: str) -> list[dict]:
        with self.lock:
            return [e["params"] for e in self.events if e.get("method") == method]

    def click(self, selector: str) -> None:
        """A real mouse click at the middle of the element, as a person would."""
        box = self.evaluate(f"""(() => {{
            const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2}};
        }})()""")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"], "button": "left",
                                                   "clickCount": 1})

    def close(self) -> None:
        try:
            self.stack.close()
        except Exception:  # noqa: BLE001
            pass


def set_query(cdp: DevTools, query: str, operation: str) -> None:
    """Put a query in GraphiQL's editor through CodeMirror's API (as typing would) and wait until GraphiQL has
    parsed it (its parse is debounced): it picks HTTP or WebSocket by the parsed operation."""
    cdp.evaluate(f"""(() => {{
        const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
        cm.setValue({json.dumps(query)}); cm.focus(); }})()""")
    cdp.wait_for(f"""(() => {{
        const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
        const ops = ((cm.documentAST || {{}}).definitions || []).filter(d => d.kind === 'OperationDefinition');
        return cm.getValue() === {json.dumps(query)} && ops.length === 1 && ops[0].operation === {json.dumps(operation)};
    }})()""", timeout=10, what=f"GraphiQL to parse the {operation}")


@pytest.fixture
def chromium(tmp_path):
    exe = chromium_executable()
    if exe is None:
        if IN_CI:
            pytest.fail("Chromium is required under CI=true (apt-get install -y chromium)")
        pytest.skip("Chromium is not installed (apt-get install -y chromium); CI=true makes this a failure")
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    proc = subprocess.Popen(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
         f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
         "--window-size=1400,900", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "chromium.log", "wb"), stdin=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("Chromium did not open its DevTools port:\n"
                                     + (tmp_path / "chromium.log").read_text(errors="replace"))
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        pages = []
        while not pages and time.monotonic() < deadline:
            pages = [t for t in httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json() if t["type"] == "page"]
            time.sleep(0.1)
        devtools = DevTools(pages[0]["webSocketDebuggerUrl"])
        try:
            yield devtools
        finally:
            devtools.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_graphiql_renders_and_runs_a_query_with_no_request_leaving_the_machine(tmp_path, chromium):
    hub = HubProcess(tmp_path / "data").start()
    try:
        token = hub.run("token", "create", "--role", "ADMIN", "--name", "graphiql-e2e").stdout.strip().splitlines()[-1]
        create_unit(hub, token, 0)
        expected = httpx.post(hub.url + "/graphql", json={"query": QUERY},
                              headers={"Authorization": f"Bearer {token}"}).json()["data"]["units"]["totalCount"]

        cdp = chromium
        for domain in ("Network", "Page", "Runtime", "Log"):
            cdp.send(f"{domain}.enable")
        cdp.send("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 900, "deviceScaleFactor": 1,
                                                        "mobile": False})

        # A browser opening /graphql is sent to the offline GraphiQL page.
        cdp.send("Page.navigate", {"url": hub.url + "/graphql"})
        cdp.wait_for("location.pathname === '/graphiql' && document.readyState === 'complete'", what="/graphiql")
        assert cdp.evaluate("document.title") == "Staffing registry hub \u2014 GraphiQL"
        cdp.wait_for("!!document.querySelector('.graphiql-container .graphiql-query-editor .CodeMirror')",
                     what="the GraphiQL editor")
        assert "no token" in cdp.evaluate("document.getElementById('hub-token-status').textContent")

        # The token box: type the token and press Enter, as a person would.
        cdp.evaluate("document.getElementById('hub-token').focus()")
        cdp.send("Input.insertText", {"text": token})
        for kind in ("keyDown", "keyUp"):
            cdp.send("Input.dispatchKeyEvent", {"type": kind, "key": "Enter", "code": "Enter",
                                                "windowsVirtualKeyCode": 13, "text": "\r" if kind == "keyDown" else ""})
        cdp.wait_for("document.getElementById('hub-token-status').textContent.startsWith('token set')",
                     what="the token to be taken")
        assert cdp.evaluate("localStorage.getItem('hub.graphiql.token')") == token
        assert cdp.evaluate("document.getElementById('hub-token').value") == ""  # not left on screen
        assert expected == 1

        # The query into the editor (CodeMirror's own API, as typing would), then a click on the run button.
        set_query(cdp, QUERY, "query")
        cdp.click(".graphiql-execute-button")
        result = cdp.wait_for("""(() => {
            const el = document.querySelector('.result-window');
            const text = el ? el.innerText : '';
            return text.includes('totalCount') ? text : null; })()""", what="the result pane")
        # CodeMirror renders the JSON with non-breaking spaces; compare it as text.
        compact = "".join(result.replace("\u00a0", " ").split())
        assert f'"totalCount":{expected}' in compact, result
        assert '"errors"' not in compact, result

        # A screenshot for people (docs/graphiql.md shows it).
        png = base64.b64decode(cdp.send("Page.captureScreenshot", {"format": "png"})["data"])
        (tmp_path / "graphiql.png").write_bytes(png)
        if os.environ.get("HUB_UPDATE_DOCS_SCREENSHOT") == "1" or not DOCS_SCREENSHOT.exists():
            DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
            shutil.copyfile(tmp_path / "graphiql.png", DOCS_SCREENSHOT)

        # A subscription runs over WebSocket with the token in connection_init: start it, commit a change
        # through the API, and the event shows in the result pane.
        set_query(cdp, SUBSCRIPTION, "subscription")
        cdp.click(".graphiql-execute-button")
        cdp.wait_for("document.querySelector('.graphiql-execute-button').getAttribute('aria-label').startsWith('Stop')",
                     timeout=15, what="the subscription to start")
        # The server starts reading committed changes once the socket has subscribed: commit until one shows.
        event, codes = None, []
        for n in range(1, 6):
            codes.append(create_unit(hub, token, n))
            deadline = time.monotonic() + 5
            while event is None and time.monotonic() < deadline:
                event = cdp.evaluate("""(() => { const t = document.querySelector('.result-window').innerText;
                                                 return t.includes('registryUpdates') ? t : null; })()""")
                time.sleep(0.2)
            if event is not None:
                break
        assert event is not None, "no subscription event in the result pane"
        assert "gov.registry.unit.created" in event and any(c in event for c in codes), event
        cdp.click(".graphiql-execute-button")  # stop it

        # Nothing left the machine: every request went to the hub on 127.0.0.1 ...
        urls = [r["request"]["url"] for r in cdp.events_named("Network.requestWillBeSent")]
        urls += [w["url"] for w in cdp.events_named("Network.webSocketCreated")]
        remote = [u for u in urls if not u.startswith(("data:", "blob:", "about:"))
                  and urlsplit(u).hostname != "127.0.0.1"]
        assert not remote, f"requests off the machine: {remote}"
        paths = {urlsplit(u).path for u in urls}
        for asset in ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js",
                      "graphiql.min.css", "hub-graphiql.js"):
            assert f"/graphiql/static/{asset}" in paths, paths
        # The token box's token went with GraphiQL's requests: the schema (introspection) and the query.
        posts = [r["request"] for r in cdp.events_named("Network.requestWillBeSent")
                 if urlsplit(r["request"]["url"]).path == "/graphql" and r["request"]["method"] == "POST"]
        authorized = [json.loads(r.get("postData") or "{}") for r in posts
                      if {k.lower(): v for k, v in r["headers"].items()}.get("authorization") == f"Bearer {token}"]
        assert any("__schema" in b.get("query", "") for b in authorized), posts
        assert any(b.get("query") == QUERY for b in authorized), posts
        # ... and the page neither threw nor hit its Content-Security-Policy.
        exceptions = cdp.events_named("Runtime.exceptionThrown")
        assert not exceptions, exceptions
        csp = [e["entry"]["text"] for e in cdp.events_named("Log.entryAdded")
               if "Content Security Policy" in e["entry"].get("text", "")]
        csp += [" ".join(str(a.get("value", "")) for a in e["args"]) for e in cdp.events_named("Runtime.consoleAPICalled")
                if any("Content Security Policy" in str(a.get("value", "")) for a in e["args"])]
        assert not csp, csp
    finally:
        code = hub.stop()
    assert code == 0, hub.output()
