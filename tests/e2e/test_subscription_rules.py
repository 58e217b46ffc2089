"""Subscriptions obey the queries' rules (issue 12, item 2), over real graphql-transport-ws against `hub up`: the role ×
field matrix, the purpose and the read audit apply to person fields reached through `registryUpdates` and
`mismatchEvents`; MONITOR gets the masked view; an open subscription ends once its token is revoked."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from tests import events as ev
from tests.e2e.hub_process import HubProcess
from tests.factories import id_number, unit_code
from tests.kafka_tools import PartnerProducer
from tests.registry_csv import write_registry

CACHE_S = 2


def transport(hub, token, purpose=None):
    payload = {"Authorization": f"Bearer {token}", **({"X-Purpose": purpose} if purpose else {})}
    return WebsocketsTransport(url=f"ws://127.0.0.1:{hub.port}/graphql", init_payload=payload,
                               subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])


async def first(hub, token, document, *, purpose=None, where=lambda r: True):
    """The first result that ``where`` accepts, or the error that ended the subscription (as {"error": …})."""
    try:
        async with Client(transport=transport(hub, token, purpose)) as s:
            async for r in s.subscribe(gql(document)):
                if where(r):
                    return r
    except Exception as e:  # noqa: BLE001 - the test looks at what ended it
        return {"error": str(e), "errors": getattr(e, "errors", None)}


UPDATES = "subscription { registryUpdates { type subject data } }"
# the police's verification of the person: a person event that carries police-verified fields
PERSON_EVENT = lambda r: r["registryUpdates"]["type"] == "gov.registry.person.updated"  # noqa: E731
NAMES = ("subscription Watch { mismatchEvents(filter: {kinds: [NAME_MISMATCH]}) "
         "{ kind subject details causedBy } }")


def test_subscriptions_apply_the_matrix_purpose_audit_and_revocation(tmp_path):
    hub = HubProcess(tmp_path / "data", env={"HUB_TOKEN_CACHE_S": str(CACHE_S)}).start()
    try:
        tok = {r: hub.run("token", "create", "--role", r, "--name", f"sub-{r.lower()}").stdout.strip()
               for r in ("ADMIN", "AUDITOR", "ORGANIZATION", "POLICE", "MONITOR")}
        leaving = hub.run("token", "create", "--role", "ADMIN", "--name", "leaving").stdout.strip()
        leaving_id = re.search(r"│\s*(\d+)\s*│\s*leaving\s", hub.run("token", "list").stdout).group(1)
        bootstrap = re.search(r"Kafka bootstrap servers: (\S+)", hub.output()).group(1)
        u, x = unit_code(), id_number()

        async def scenario():
            tasks = {
                "org_no_purpose": first(hub, tok["ORGANIZATION"], UPDATES, where=PERSON_EVENT),
                "org_purpose": first(hub, tok["ORGANIZATION"], UPDATES, purpose="联审 2026-8", where=PERSON_EVENT),
                "auditor": first(hub, tok["AUDITOR"], UPDATES, where=PERSON_EVENT),
                "monitor_updates": first(hub, tok["MONITOR"], UPDATES),
                "monitor_names": first(hub, tok["MONITOR"], NAMES),
                "police_no_purpose": first(hub, tok["POLICE"], NAMES),
                "police_purpose": first(hub, tok["POLICE"], NAMES, purpose="协查 17"),
                "revoked": first(hub, leaving, "subscription { mismatchEvents { kind } }", where=lambda r: False),
            }
            running = {k: asyncio.create_task(c) for k, c in tasks.items()}
            await asyncio.sleep(1.5)  # subscriptions established
            registry = write_registry(tmp_path / "reg", units=[{"code": u, "name": "杭州市订阅规则局"}],
                                      persons=[(x, "林海")], postings=[(x, u, "ADMINISTRATIVE")])
            await asyncio.to_thread(hub.run, "import", str(registry))
            producer = PartnerProducer(bootstrap)
            producer.send_event(ev.police(x, "林海峰", event_id=f"police-{x}"))  # NAME_MISMATCH
            await asyncio.to_thread(producer.flush)
            await asyncio.to_thread(hub.run, "token", "revoke", leaving_id)
            revoked_at = time.monotonic()
            revoked = await asyncio.wait_for(running.pop("revoked"), CACHE_S + 10)
            ended_after = time.monotonic() - revoked_at
            rest = dict(zip(running, await asyncio.wait_for(asyncio.gather(*running.values()), 60)))
            return rest, revoked, ended_after

        seen, revoked, ended_after = asyncio.run(scenario())
        masked = x[:6] + "********" + x[14:]

        # registryUpdates: identity only with a purpose; police-verified fields never for ORGANIZATION
        assert seen["org_no_purpose"]["registryUpdates"]["subject"] is None
        assert seen["org_no_purpose"]["registryUpdates"]["data"] == {}
        org = seen["org_purpose"]["registryUpdates"]
        assert org["subject"] == x and org["data"]["name"] == "林海" and org["data"]["birth_date"] and org["data"]["gender"]
        assert not {"verified_name", "identity_status", "photo_sha256"} & set(org["data"])
        assert seen["auditor"]["registryUpdates"]["data"]["verified_name"] == "林海峰"
        assert "FORBIDDEN" in str(seen["monitor_updates"]["errors"]) or "may not" in seen["monitor_updates"]["error"]

        # mismatchEvents: MONITOR masked, names purpose-bound for a partner
        assert seen["monitor_names"]["mismatchEvents"] == {"kind": "NAME_MISMATCH", "subject": masked, "details": {},
                                                           "causedBy": []}
        assert seen["police_no_purpose"]["mismatchEvents"]["details"] == {}
        assert seen["police_purpose"]["mismatchEvents"]["details"] == {"expected": "林海", "found": {"police": "林海峰"}}
        assert seen["police_purpose"]["mismatchEvents"]["causedBy"] == [f"police-{x}"]

        # the revoked token's subscription ended, with UNAUTHENTICATED, within the token cache time
        assert "revoked" in revoked["error"] and ended_after <= CACHE_S + 3, (revoked, ended_after)

        # every delivered read of person data is in the access log, with the subscription's purpose
        log = httpx.post(hub.url + "/graphql", headers={"Authorization": f"Bearer {tok['AUDITOR']}"}, json={
            "query": "query($i: String!) { accessLog(filter: {idNumber: $i}, first: 100) "
                     "{ edges { node { role field purpose operation } } } }", "variables": {"i": x}}).json()
        rows = [e["node"] for e in log["data"]["accessLog"]["edges"]]
        assert {"role": "ORGANIZATION", "field": "Subscription.registryUpdates", "purpose": "联审 2026-8",
                "operation": "registryUpdates"} in rows
        assert {"role": "POLICE", "field": "Mismatch.details", "purpose": "协查 17", "operation": "Watch"} in rows
        assert not [r for r in rows if r["role"] in ("MONITOR",) or (r["role"] == "ORGANIZATION" and r["purpose"] is None)]
        assert not [r for r in rows if r["role"] == "POLICE" and r["purpose"] is None]
    finally:
        assert hub.stop() == 0
