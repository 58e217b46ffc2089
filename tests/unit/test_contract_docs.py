"""docs/contract.md is the whole outside contract: nothing binding lives outside the repository, every link
resolves inside it, and it names every topic, event type (with its schema) and mismatch kind the code has."""

import re
from pathlib import Path

from hub.contract.inbound import DATA_MODELS
from hub.contract.topics import INBOUND_TOPICS, OUTBOUND_TOPICS
from hub.domain.vocabulary import MismatchKind, Role

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "contract.md"


def test_the_contract_points_to_nothing_outside_the_repository():
    text = DOC.read_text(encoding="utf-8")
    assert "shared/CONTRACT" not in text and "/work/" not in text
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        assert not target.startswith(("http://", "https://", "/")), target
        resolved = (DOC.parent / target).resolve()
        assert resolved.is_relative_to(ROOT) and resolved.exists(), target


def test_the_contract_names_every_topic_event_type_schema_mismatch_kind_and_role():
    text = DOC.read_text(encoding="utf-8")
    for topic in INBOUND_TOPICS + OUTBOUND_TOPICS:
        assert f"`{topic}`" in text, topic
    schemas = {p.name.removesuffix(".schema.json") for p in (ROOT / "schema" / "events").glob("*.schema.json")}
    for type_ in schemas:
        family, _, change = type_.rpartition(".")
        assert f"`{type_}`" in text or (f"`{family}." in text and f"`.{change}`" in text), type_
        assert f"schema/events/{type_}.schema.json" in text or (  # its schema, or one of its family's (section 5)
            family.count(".") == 2 and f"](../schema/events/{family}." in text), type_
    for type_ in DATA_MODELS:
        assert f"schema/events/{type_}.schema.json" in text
    for kind in MismatchKind:
        assert f"`{kind.value}`" in text, kind
    for role in Role:
        assert f"`{role.value}`" in text, role
