"""GraphQL over HTTP: the audit suite of the npm package `graphql-http` passes against `hub up` with no warning.

`auditServer` (graphql-http, the spec's reference implementation) sends ~60 requests to /graphql: media types
(application/graphql-response+json and application/json), GET and POST, bad JSON, bad parameter types,
parse/validation/variable failures and the status codes expected for each. Every request carries an ADMIN
bearer token (the hub answers 401 without one). Every audit must come back "ok": no error, no warning, no
notice. See docs/graphql-over-http.md.

graphql-http is installed with npm (pinned below) into tests/e2e/.node/node_modules, reused by later runs; git
ignores it through the `node_modules/` rule. node/npm missing: skipped, except under CI=true, where that is a
failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.hub_process import HubProcess

IN_CI = os.environ.get("CI", "").lower() == "true"
HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "graphql_http_audit.mjs"
NODE_PREFIX = HERE / ".node"
GRAPHQL_HTTP_VERSION = "1.23.1"
GRAPHQL_VERSION = "16.9.0"  # graphql-http's peer dependency


def _node_and_npm() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        return node, npm
    missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
    if IN_CI:
        pytest.fail(f"{missing} required under CI=true (install Node.js 18+ with npm)")
    pytest.skip(f"{missing} not installed (Node.js 18+ with npm); CI=true makes this a failure")


def _installed_version(package: str) -> str | None:
    manifest = NODE_PREFIX / "node_modules" / package / "package.json"
    try:
        return json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def _install_graphql_http(npm: str) -> None:
    """npm install the pinned graphql-http (and graphql) into tests/e2e/.node, unless already there."""
    if _installed_version("graphql-http") == GRAPHQL_HTTP_VERSION and _installed_version("graphql") == GRAPHQL_VERSION:
        return
    NODE_PREFIX.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [npm, "install", "--prefix", str(NODE_PREFIX), "--no-save", "--no-package-lock", "--no-audit", "--no-fund",
         "--loglevel=error", f"graphql-http@{GRAPHQL_HTTP_VERSION}", f"graphql@{GRAPHQL_VERSION}"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"npm install graphql-http@{GRAPHQL_HTTP_VERSION} failed:\n{proc.stdout}\n{proc.stderr}"
    assert _installed_version("graphql-http") == GRAPHQL_HTTP_VERSION, "graphql-http missing after npm install"


def test_graphql_http_audit_suite_passes_without_warnings(tmp_path):
    node, npm = _node_and_npm()
    _install_graphql_http(npm)
    hub = HubProcess(tmp_path / "data").start()
    try:
        token = hub.run("token", "create", "--role", "ADMIN", "--name", "audit").stdout.strip()
        assert token.startswith("hub_"), token
        proc = subprocess.run([node, str(SCRIPT), str(NODE_PREFIX), hub.url + "/graphql", token],
                              capture_output=True, text=True, timeout=300)
    finally:
        hub.stop()
    assert proc.returncode == 0, f"audit script failed ({proc.returncode}):\n{proc.stderr}\n{proc.stdout}"
    report = json.loads(proc.stdout)
    counts, results = report["counts"], report["results"]
    print(f"graphql-http {report['version']} audit: {counts['ok']} ok, {counts['notice']} notices, "
          f"{counts['warn']} warnings, {counts['error']} errors ({len(results)} audits)")
    assert report["version"] == GRAPHQL_HTTP_VERSION
    assert len(results) >= 50, f"suspiciously few audits: {len(results)}"
    failing = [r for r in results if r["status"] != "ok"]
    assert not failing, "audits not ok:\n" + "\n".join(
        f"  [{r['status']}] {r['id']} {r['name']}: {r.get('reason')} "
        f"(HTTP {r.get('httpStatus')}, {r.get('contentType')}) {r.get('body') or ''}" for r in failing)
    assert counts == {"ok": len(results), "notice": 0, "warn": 0, "error": 0}, counts
