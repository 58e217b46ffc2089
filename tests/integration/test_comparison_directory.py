"""Issue 12, item 11: `startComparison` reads only files under the configured comparison directory, and answers a
missing path and a forbidden one with the same refusal."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.config import load_settings
from hub.service_layer.comparison.files import snapshot_file
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


def test_a_file_swapped_for_a_link_after_the_check_is_not_compared(db, tree, monkeypatch):
    """The check and the comparison each opened the path: a file replaced by a symbolic link out of the directory in
    between (someone who can write the directory, racing) was compared from outside it, and its rows came back in
    the comparison's errors. The comparison now only runs the bytes the check saw (their SHA-256)."""
    import time

    from hub.service_layer.comparison import pipeline

    inside, outside = tree
    (outside / "secret.csv").write_text(CSV + "TOPSECRET-0123,名,X,2026-10,1\n", encoding="utf-8")
    (inside / "race.csv").write_text(CSV, encoding="utf-8")
    original = pipeline.record_start

    def swap_then_record(*args, **kwargs):  # runs after the mutation's check and digest, before the comparison reads
        target = inside / "race.csv"
        if not target.is_symlink():
            target.unlink()
            target.symlink_to(outside / "secret.csv")
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "record_start", swap_then_record)
    client = TestClient(create_app(db, settings=load_settings(comparison_dir=inside)))
    token = create_token(db, role="ADMIN", name="office")[1]
    headers = {"Authorization": f"Bearer {token}"}
    r = client.post("/graphql", json={"query": START, "variables": {"p": "race.csv"}}, headers=headers).json()
    cid = r["data"]["startComparison"]["comparisonId"]
    query = "query($id: ID!) { comparison(id: $id) { status error summary } }"
    for _ in range(100):
        found = client.post("/graphql", json={"query": query, "variables": {"id": cid}}, headers=headers).json()
        if found["data"]["comparison"]["status"] != "RUNNING":
            break
        time.sleep(0.1)
    c = found["data"]["comparison"]
    assert c["status"] == "REJECTED" and "changed" in c["error"], c
    assert "TOPSECRET" not in str(c)
