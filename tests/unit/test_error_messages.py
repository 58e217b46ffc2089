"""Messages people read name what a value must look like, never a regular expression."""

import json

import pytest

import tests.events as ev
from hub.contract.inbound import Rejected
from connectors.finance import CONNECTOR as FINANCE
from connectors.insurance import CONNECTOR as INSURANCE
from connectors.police import CONNECTOR as POLICE
from hub.service_layer.comparison.snapshot_rows import check_row
from tests.factories import id_number, unit_code

REGEX_BITS = ("[0-9]", "{1,12}", "^", "$", "pattern")


@pytest.mark.parametrize("connector, event, field, says", [
    (FINANCE, lambda i, u: ev.paid(i, "张伟", u), {"gross_amount": "8,000"}, "must be an amount in yuan"),
    (FINANCE, lambda i, u: ev.paid(i, "张伟", u), {"period": "2026-13"}, "must be a period YYYY-MM"),
    (INSURANCE, lambda i, u: ev.contribution(i, "张伟", u), {"base_amount": "1e5"}, "must be an amount in yuan"),
    (POLICE, lambda i, u: ev.police(i, "张伟"), {"photo_sha256": "abc"}, "must be a SHA-256 digest"),
])
def test_an_inbound_event_with_a_malformed_amount_period_or_digest_is_refused_in_words(connector, event, field, says):
    e = event(id_number(), unit_code(1))
    e["data"].update(field)
    result = connector.translate(json.dumps(e, ensure_ascii=False).encode())
    assert isinstance(result, Rejected) and says in result.reason and repr(next(iter(field.values()))) in result.reason
    assert not any(bit in result.reason for bit in REGEX_BITS), result.reason


def test_a_snapshot_row_with_a_bad_amount_is_reported_in_words():
    row = {"id_number": id_number(), "name": "张伟", "unit_code": unit_code(1), "period": "2026-10", "gross_amount": "12abc"}
    record, error = check_row("finance", row, 7)
    assert record is None and error.line == 7
    assert error.reason == "gross_amount: must be an amount in yuan as text: up to 12 digits, at most 4 decimals, e.g. \"8000.00\" (got '12abc')"
