"""POST /graphql is answered by HubGraphQLRouter.handle_post (no FastAPI dependency resolution per request, issue 18
session 9) with the context strawberry's endpoint gave: the hub's context getter once, and its errors as before."""

from __future__ import annotations

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from hub.api.app import HubGraphQLRouter, create_app
from hub.api.context import HubContext
from hub.service_layer.tokens import create_token


def _post_routes(app) -> list[APIRoute]:
    (router,) = [r.original_router for r in app.router.routes
                 if isinstance(getattr(r, "original_router", None), HubGraphQLRouter)]
    return [r for r in router.routes if isinstance(r, APIRoute) and "POST" in r.methods]


def test_post_is_served_without_dependencies(db):
    app = create_app(db)
    (route,) = _post_routes(app)  # strawberry's POST route was replaced, not shadowed
    assert route.endpoint.__name__ == "handle_post"
    assert not route.dependant.dependencies  # nothing for FastAPI to resolve per request


def test_the_context_is_built_once_with_what_strawberry_added(db, monkeypatch):
    seen: list[HubContext] = []
    real_close = HubContext.close

    def close(self):
        seen.append(self)
        real_close(self)

    monkeypatch.setattr(HubContext, "close", close)
    _, token = create_token(db, role="ADMIN", name="office")
    client = TestClient(create_app(db))
    r = client.post("/graphql", json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json() == {"data": {"__typename": "Query"}}
    assert r.headers["content-type"] == "application/json"
    (ctx,) = seen
    assert ctx.request is not None and ctx.request.method == "POST"
    assert ctx.response is not None and ctx.response.status_code is None  # FastAPI's empty sub-response
    assert ctx.background_tasks is not None and not ctx.background_tasks.tasks


def test_context_errors_and_transport_errors_are_answered_as_before(db):
    client = TestClient(create_app(db))
    r = client.post("/graphql", json={"query": "{ __typename }"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    _, token = create_token(db, role="FINANCE", name="fin")
    auth = {"Authorization": f"Bearer {token}"}
    r = client.post("/graphql", json={"query": "{ __typename }"}, headers={**auth, "X-Purpose": "a%00b"})
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    r = client.post("/graphql", content=b"not json", headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    r = client.post("/graphql", content=b"{}", headers={**auth, "Content-Type": "text/plain"})
    assert r.status_code == 415
    r = client.post("/graphql", json={"query": "{ nope }"}, headers={**auth, "Accept": "application/graphql-response+json"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/graphql-response+json"
    assert "data" not in r.json()
