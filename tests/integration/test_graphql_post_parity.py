"""Session 9 review of POST /graphql served by ``HubGraphQLRouter.handle_post``: every request of a battery (content
types, bad JSON, missing or mistyped fields, batching, operationName, 401s, X-Purpose, Accept media types, a
mutation and a subscription over POST, size limits, a query string on POST, other methods, a trailing slash) is
answered byte for byte, status and headers as strawberry's own POST endpoint (the route ``_lean_post`` replaces)
answers it."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from hub.api.app import HubGraphQLRouter, create_app
from hub.config import load_settings
from hub.service_layer.tokens import create_token

Q = {"query": "{ __typename }"}
B = "hubboundary"
MULTIPART = (f'--{B}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{{"query": "{{ __typename }}"}}\r\n'
             f'--{B}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.f"]}}\r\n'
             f'--{B}\r\nContent-Disposition: form-data; name="0"; filename="a.txt"\r\n\r\nx\r\n--{B}--\r\n').encode()
TWO_OPS = "query A { __typename } query B { typename: __typename }"


def _battery(admin: str, finance: str) -> list[tuple[str, str, dict]]:
    """(method, url, keyword arguments of TestClient.request)."""
    auth = {"Authorization": f"Bearer {admin}"}
    fin = {"Authorization": f"Bearer {finance}"}
    json_ct = {**auth, "Content-Type": "application/json"}
    cases = [
        ("POST", "/graphql", {"json": Q, "headers": auth}),
        ("POST", "/graphql", {"json": Q}),  # no token
        ("POST", "/graphql", {"json": Q, "headers": {"Authorization": "Bearer nope"}}),
        ("POST", "/graphql", {"json": Q, "headers": {"Authorization": "Basic eDp5"}}),
        ("POST", "/graphql", {"content": b"not json", "headers": json_ct}),
        ("POST", "/graphql", {"content": b"", "headers": json_ct}),
        ("POST", "/graphql", {"content": b"[" * 100000, "headers": json_ct}),
        ("POST", "/graphql", {"content": b'"just a string"', "headers": json_ct}),
        ("POST", "/graphql", {"content": b"{}", "headers": json_ct}),  # missing query
        ("POST", "/graphql", {"json": {"query": None}, "headers": auth}),
        ("POST", "/graphql", {"json": {"query": 5}, "headers": auth}),
        ("POST", "/graphql", {"json": {"query": "{ __typename }", "variables": []}, "headers": auth}),
        ("POST", "/graphql", {"json": {"query": "{ __typename }", "extensions": "x"}, "headers": auth}),
        ("POST", "/graphql", {"json": [Q, Q], "headers": auth}),  # batching (not enabled)
        ("POST", "/graphql", {"json": [], "headers": auth}),
        ("POST", "/graphql", {"json": {"query": TWO_OPS}, "headers": auth}),
        ("POST", "/graphql", {"json": {"query": TWO_OPS, "operationName": "B"}, "headers": auth}),
        ("POST", "/graphql", {"json": {"query": TWO_OPS, "operationName": "C"}, "headers": auth}),
        ("POST", "/graphql", {"json": {"query": "{ nope }"}, "headers": auth}),
        ("POST", "/graphql", {"json": {"query": "{"}, "headers": auth}),
        ("POST", "/graphql", {"json": {"query": "query($x: Int!) { __typename }", "variables": {"x": "a"}},
                              "headers": auth}),
        ("POST", "/graphql", {"json": {"query": "subscription { mismatchEvents { __typename } }"}, "headers": auth}),
        ("POST", "/graphql", {"json": {"query": "mutation { __typename }"}, "headers": auth}),
        ("POST", "/graphql", {"json": {"query": "mutation { __typename }"}, "headers": fin}),
        ("POST", "/graphql", {"json": {"query": "{ person(idNumber: \"110101199001010011\") { name } }"},
                              "headers": fin}),  # a purpose required
        ("POST", "/graphql", {"json": {"query": "{ person(idNumber: \"110101199001010011\") { name } }"},
                              "headers": {**fin, "X-Purpose": quote("协查函 17号")}}),
        ("POST", "/graphql", {"json": Q, "headers": {**fin, "X-Purpose": "a%00b"}}),
        ("POST", "/graphql", {"json": Q, "headers": {**auth, "Accept": "application/graphql-response+json"}}),
        ("POST", "/graphql", {"json": {"query": "{ nope }"},
                              "headers": {**auth, "Accept": "application/graphql-response+json"}}),
        ("POST", "/graphql", {"json": Q, "headers": {**auth, "Accept": "text/html"}}),
        ("POST", "/graphql", {"json": Q, "headers": {**auth, "Accept": "text/event-stream"}}),
        ("POST", "/graphql", {"json": Q, "headers": {**auth, "Accept": "multipart/mixed"}}),
        ("POST", "/graphql", {"content": b'{"query": "{ __typename }"}',
                              "headers": {**auth, "Content-Type": "application/json; charset=utf-8"}}),
        ("POST", "/graphql", {"content": b'{"query": "{ __typename }"}',
                              "headers": {**auth, "Content-Type": "APPLICATION/JSON"}}),
        ("POST", "/graphql", {"content": b'{"query": "{ __typename }"}', "headers": {**auth, "Content-Type": "text/plain"}}),
        ("POST", "/graphql", {"content": b'{"query": "{ __typename }"}', "headers": {**auth, "Content-Type": ""}}),
        ("POST", "/graphql", {"content": b"{ __typename }", "headers": {**auth, "Content-Type": "application/graphql"}}),
        ("POST", "/graphql", {"content": MULTIPART, "headers": {**auth, "Content-Type": f"multipart/form-data; boundary={B}"}}),
        ("POST", "/graphql", {"data": {"query": "{ __typename }"}, "headers": auth}),  # urlencoded form
        ("POST", "/graphql?query=%7B__typename%7D", {"content": b"", "headers": auth}),
        ("POST", "/graphql?query=%7B__typename%7D", {"json": Q, "headers": auth}),
        ("POST", "/graphql", {"content": b'{"query": "' + b" " * 300_000 + b'{ __typename }"}', "headers": json_ct}),
        ("POST", "/graphql/", {"json": Q, "headers": auth}),
        ("GET", "/graphql?query=%7B__typename%7D", {"headers": auth}),
        ("GET", "/graphql", {"headers": auth}),
        ("PUT", "/graphql", {"json": Q, "headers": auth}),
        ("DELETE", "/graphql", {"headers": auth}),
        ("OPTIONS", "/graphql", {"headers": auth}),
    ]
    return cases


def _answers(db, monkeypatch, *, lean: bool, settings) -> list[tuple]:
    if not lean:  # strawberry's own POST endpoint, as before session 9
        monkeypatch.setattr(HubGraphQLRouter, "_lean_post", lambda self, path: None)
    app = create_app(db, settings=settings)
    monkeypatch.undo()
    (router,) = [r.original_router for r in app.router.routes
                 if isinstance(getattr(r, "original_router", None), HubGraphQLRouter)]
    endpoints = {r.endpoint.__name__ for r in router.routes if "POST" in getattr(r, "methods", ())}
    assert endpoints == ({"handle_post"} if lean else {"handle_http_post"}), endpoints
    admin = create_token(db, role="ADMIN", name="office")[1]
    finance = create_token(db, role="FINANCE", name="fin")[1]
    client = TestClient(app, raise_server_exceptions=False)
    got = []
    for method, url, kwargs in _battery(admin, finance):
        r = client.request(method, url, **kwargs)
        headers = sorted((k, v) for k, v in r.headers.items() if k not in ("date",))
        got.append((method, url, r.status_code, headers, r.content))
    return got


@pytest.mark.parametrize("body_limit", [None, 100_000])
def test_post_answers_exactly_as_strawberrys_endpoint(db, monkeypatch, tmp_path, body_limit):
    settings = None
    if body_limit is not None:
        monkeypatch.setenv("HUB_HTTP_MAX_BODY_BYTES", str(body_limit))
        monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
        settings = load_settings()
    old = _answers(db, monkeypatch, lean=False, settings=settings)
    new = _answers(db, monkeypatch, lean=True, settings=settings)
    for o, n in zip(old, new, strict=True):
        assert n == o
