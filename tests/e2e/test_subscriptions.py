"""Subscriptions over graphql-transport-ws with a third-party client (gql + websockets) against `hub up`:
the token is checked in connection_init; mismatchEvents and registryUpdates deliver what the hub commits."""

import asyncio
import re

import pytest
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from tests import events as ev
from tests.e2e.hub_process import HubProcess
from tests.factories import id_number, unit_code
from tests.kafka_tools import PartnerProducer
from tests.registry_csv import write_registry


def transport(hub, token):
    return WebsocketsTransport(url=f"ws://127.0.0.1:{hub.port}/graphql", init_payload={"Authorization": f"Bearer {token}"},
                               subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])


def test_subscriptions_end_to_end(tmp_path):
    hub = HubProcess(tmp_path / "data").start()
    try:
        admin = hub.run("token", "create", "--role", "ADMIN", "--name", "sub").stdout.strip()
        monitor = hub.run("token", "create", "--role", "MONITOR", "--name", "mon").stdout.strip()
        bootstrap = re.search(r"Kafka bootstrap servers: (\S+)", hub.output()).group(1)
        u = unit_code()
        ghost = id_number()

        async def scenario():
            # a bad token is rejected at connection_init
            with pytest.raises(Exception):
                async with Client(transport=transport(hub, "hub_wrong")) as s:
                    async for _ in s.subscribe(gql("subscription { mismatchEvents { kind } }")):
                        break

            async def first_mismatch(token):
                async with Client(transport=transport(hub, token)) as s:
                    async for r in s.subscribe(gql("subscription { mismatchEvents(filter: {kinds: [GHOST_PAYROLL]}) { kind status subject unit { code } } }")):
                        return r["mismatchEvents"]

            async def first_update():
                async with Client(transport=transport(hub, admin)) as s:
                    async for r in s.subscribe(gql('subscription { registryUpdates(types: ["gov.registry.unit.created"]) { type subject data } }')):
                        return r["registryUpdates"]

            tasks = [asyncio.create_task(first_mismatch(admin)), asyncio.create_task(first_mismatch(monitor)),
                     asyncio.create_task(first_update())]
            await asyncio.sleep(1.5)  # subscriptions established
            registry = write_registry(tmp_path / "reg", units=[{"code": u, "name": "杭州市订阅测试局"}], persons=[], postings=[])
            await asyncio.to_thread(hub.run, "import", str(registry))
            producer = PartnerProducer(bootstrap)
            producer.send_event(ev.paid(ghost, "无名", u))
            await asyncio.to_thread(producer.flush)
            return await asyncio.wait_for(asyncio.gather(*tasks), 60)

        seen_admin, seen_monitor, update = asyncio.run(scenario())
        assert seen_admin == {"kind": "GHOST_PAYROLL", "status": "OPEN", "subject": ghost, "unit": {"code": u}}
        assert seen_monitor["subject"] == ghost[:6] + "********" + ghost[-4:]
        assert update["type"] == "gov.registry.unit.created" and update["subject"] == u and update["data"]["name"] == "杭州市订阅测试局"
    finally:
        assert hub.stop() == 0
