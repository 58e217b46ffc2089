"""Events made in PostgreSQL (a police comparison's person.updated events, by the hundred thousand) are byte for
byte the events Python makes: the same JSON escaping, the same keys in the same order, a version 4 id."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import create_engine, text

from hub.adapters.jsonutil import dumps
from hub.contract.cloudevents import cloud_event, json_string, sql_cloud_event, sql_json
from hub.service_layer.partner_events import _VERIFIED_DATA_SQL, verified_data

# PostgreSQL text holds no NUL; everything else may come from a partner: quotes, backslashes, controls, any script
texts = st.text(alphabet=st.characters(codec="utf-8", blacklist_characters="\x00"), max_size=12)


@pytest.fixture
def conn(pg_url):
    eng = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with eng.connect() as c:
        yield c
    eng.dispose()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300, deadline=None)
@given(value=st.none() | texts)
def test_sql_json_escapes_as_python_does(conn, value):
    got = conn.execute(text(f"SELECT {sql_json('CAST(:v AS text)')}"), {"v": value}).scalar()
    assert got == ("null" if value is None else json_string(value))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=100, deadline=None)
@given(name=texts.filter(bool), verified=st.none() | texts, education=st.none() | st.sampled_from(["MASTER", "OTHER"]),
       status=st.sampled_from(["ALIVE", "DECEASED"]), photo=st.none() | st.just("ab" * 32),
       birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2010, 12, 31)), gender=st.sampled_from(["M", "F"]))
def test_a_person_updated_event_made_in_sql_is_the_one_python_makes(conn, name, verified, education, status, photo,
                                                                    birth, gender):
    now = datetime(2026, 11, 28, 9, 30, 1, 123456, tzinfo=timezone.utc)
    idn = "33010819900101001X"
    value, params = sql_cloud_event(type="gov.registry.person.updated", now=now, data_sql=_VERIFIED_DATA_SQL,
                                    subject_sql="p.id_number")
    got = conn.execute(text(
        f"SELECT {value} FROM (SELECT CAST(:idn AS varchar(18)) AS id_number, CAST(:name AS varchar(100)) AS name,"
        " CAST(:gender AS varchar(1)) AS gender, CAST(:birth AS date) AS birth_date, CAST(:edu AS varchar(16)) AS education) p,"
        " (SELECT CAST(:vname AS text) AS name, CAST(:status AS text) AS status, CAST(:photo AS text) AS photo_sha256) v"),
        {"idn": idn, "name": name, "gender": gender, "birth": birth, "edu": education, "vname": verified,
         "status": status, "photo": photo, **params}).scalar()
    event_id = re.search(r'"id":"([^"]+)"', got).group(1)
    assert uuid.UUID(event_id).version == 4
    expected = cloud_event(type="gov.registry.person.updated", subject=idn, now=now,
                           data=verified_data(idn, name, gender, birth, education, verified, status, photo))
    expected["id"] = event_id
    assert got == dumps(expected)
