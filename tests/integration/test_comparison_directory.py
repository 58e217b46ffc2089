"""Issue 12, item 11: `startComparison` reads only files under the configured comparison directory, and answers a
missing path and a forbidden one with the same refusal."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.config import load_settings
from hub.service_layer.compare import snapshot_file
from hub.service_layer.tokens import create_token

START = ('mutation($p: String!) { startComparison(source: "finance", period: "2026-10", path: $p) '
         '{ __typename ... on ComparisonStarted { comparisonId } ... on InvalidInput { message field } } }')
CSV = "id_number,name,unit_code,period,gross_amount\n"


@pytest.fixture
def tree(tmp_path):
    inside, outside = tmp_path / "comparisons", tmp_path / "elsewhere"
    (inside / "2026").mkdir(parents=True)
    outside.mkdir()
    (inside / "f.csv").write_text(CSV, encoding="utf-8")
    (inside / "2026" / "g.csv").write_text(CSV, encoding="utf-8")
    (outside / "secret.csv").write_text(CSV, encoding="utf-8")
    (inside / "link-out.csv").symlink_to(outside / "secret.csv")
    (inside / "dir-out").symlink_to(outside, target_is_directory=True)
    (inside / "link-in.csv").symlink_to(inside / "2026" / "g.csv")
    return inside, outside


def test_only_files_inside_the_directory_are_named(tree):
    inside, outside = tree
    assert snapshot_file(inside, "f.csv") == (inside / "f.csv").resolve()
    assert snapshot_file(inside, "2026/g.csv") == (inside / "2026" / "g.csv").resolve()
    assert snapshot_file(inside, str(inside / "f.csv")) == (inside / "f.csv").resolve()  # absolute, inside
    assert snapshot_file(inside, "link-in.csv") == (inside / "2026" / "g.csv").resolve()  # a link that stays inside
    for forbidden in ("../elsewhere/secret.csv", "2026/../f.csv", str(outside / "secret.csv"), "link-out.csv",
                      "dir-out/secret.csv", "/etc/passwd", "2026", ".", "", "f.csv\x00.txt", "missing.csv"):
        assert snapshot_file(inside, forbidden) is None, forbidden
    assert snapshot_file(inside.parent / "no-such-dir", "f.csv") is None


def test_start_comparison_answers_missing_and_forbidden_paths_alike(db, tree):
    inside, outside = tree
    client = TestClient(create_app(db, settings=load_settings(comparison_dir=inside)))
    token = create_token(db, role="ADMIN", name="office")[1]

    def start(path):
        r = client.post("/graphql", json={"query": START, "variables": {"p": path}},
                        headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        return r.json()

    refusals = [start(p) for p in ("missing.csv", str(outside / "secret.csv"), "../elsewhere/secret.csv",
                                   "link-out.csv", "dir-out/secret.csv", str(outside / "missing.csv"))]
    assert refusals[0]["data"]["startComparison"]["__typename"] == "InvalidInput"
    assert refusals[0]["data"]["startComparison"]["field"] == "path"
    assert all(r == refusals[0] for r in refusals), refusals  # byte for byte the same answer
    assert "elsewhere" not in str(refusals) and "secret" not in str(refusals)
    ok = start("f.csv")["data"]["startComparison"]
    assert ok["__typename"] == "ComparisonStarted", ok


def test_the_default_directory_is_comparisons_in_the_data_dir(db, tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HUB_COMPARISON_DIR", raising=False)
    assert load_settings().effective_comparison_dir() == tmp_path / "comparisons"
    monkeypatch.setenv("HUB_COMPARISON_DIR", str(tmp_path / "snapshots"))
    assert load_settings().effective_comparison_dir() == tmp_path / "snapshots"
    (tmp_path / "comparisons").mkdir()
    (tmp_path / "comparisons" / "f.csv").write_text(CSV, encoding="utf-8")
    monkeypatch.delenv("HUB_COMPARISON_DIR")
    token = create_token(db, role="ADMIN", name="office")[1]
    client = TestClient(create_app(db))  # no settings: read from the environment
    r = client.post("/graphql", json={"query": START, "variables": {"p": "f.csv"}},
                    headers={"Authorization": f"Bearer {token}"}).json()
    assert r["data"]["startComparison"]["__typename"] == "ComparisonStarted", r
    assert os.path.isfile(tmp_path / "comparisons" / "f.csv")
