"""When the access log cannot be written at the end of an operation (the database went away, a lock timed out), the
answer is withheld — and the client sees "Unexpected error." (INTERNAL_SERVER_ERROR), as for any database error,
not the driver's text: that holds the statement and its parameters, the ID numbers of every person of the batch
unmasked. The failure is logged at ERROR with the ID numbers masked. Found in the session 10 review: the write runs
in ``FlushAccessLog.on_execute`` after the execution, where an exception bypassed ``HubErrors``."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from hub.api import access
from hub.api.app import create_app
from hub.api.execution import HubExecutionContext
from hub.service_layer.tokens import create_token
from tests.integration.registry_helpers import make_person


@pytest.mark.parametrize("production", [False, True])
@pytest.mark.parametrize("compiled", [True, False])
def test_a_failed_access_log_write_is_masked(db, monkeypatch, caplog, production, compiled):
    idn = make_person(db)
    token = create_token(db, role="ADMIN", name="a")[1]

    def failing(db, *, principal, reads, session=None):
        raise OperationalError("INSERT INTO access_log_batches …", {"ids": [r[0] for r in reads]},
                               Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(access, "write_reads", failing)
    monkeypatch.setattr(HubExecutionContext, "compiled_reads", compiled)
    client = TestClient(create_app(db, production=production), raise_server_exceptions=False)
    with caplog.at_level(logging.INFO, logger="hub.api"):
        r = client.post("/graphql", json={"query": f'{{ person(idNumber: "{idn}") {{ name }} }}'},
                        headers={"Authorization": f"Bearer {token}", "X-Purpose": "p"})
    assert r.status_code == 200
    assert r.json() == {"data": None, "errors": [{"message": "Unexpected error.",
                                                  "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}
    assert idn not in r.text and "INSERT" not in r.text
    failed = [rec for rec in caplog.records if rec.levelno == logging.ERROR and "GraphQL operation failed" in rec.getMessage()]
    assert len(failed) == 1, [rec.getMessage() for rec in caplog.records]
    assert "server closed the connection" in failed[0].getMessage() and idn not in failed[0].getMessage()
