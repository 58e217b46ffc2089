"""`hub up` with HUB_HTTP_WORKERS=2: worker processes serve GraphQL (tokens, 401s, subscriptions' auth) and all stop on Ctrl-C."""

import httpx

from tests.e2e.hub_process import HubProcess


def test_hub_up_with_two_http_workers_serves_graphql_and_stops_cleanly(tmp_path):
    hub = HubProcess(tmp_path / "data", env={"HUB_HTTP_WORKERS": "2"}).start(timeout=90)
    try:
        assert "2 HTTP worker processes" in hub.output()
        token = hub.run("token", "create", "--role", "ADMIN", "--name", "e2e").stdout.strip()
        with httpx.Client(base_url=hub.url) as c:  # new connections: both workers get some
            for _ in range(6):
                r = httpx.post(hub.url + "/graphql", json={"query": "{ units(first: 1) { totalCount } }"},
                               headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 200 and r.json()["data"]["units"]["totalCount"] == 0
            assert c.post("/graphql", json={"query": "{ __typename }"}).status_code == 401
            assert c.get("/readyz").json()["checks"]["database"] == "ok"
    finally:
        code = hub.stop()
    assert code == 0, hub.output()
    assert "hub stopped" in hub.output()
