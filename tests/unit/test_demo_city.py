"""The synthetic demo city (hub.demo.city): bulk-import CSVs that are valid, consistent and realistic."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import pytest

from hub.demo.city import (
    DISTRICT_CODES,
    PLANTED_LEADERSHIP,
    PLANTED_OVER_QUOTA,
    PLANTED_RETIREMENT,
    REFERENCE_DATE,
    generate_city,
)
from hub.domain.identifiers import parse_id_number, parse_region_code, parse_unit_code
from hub.domain.registry import Person, Unit
from hub.domain.retirement import is_past_retirement
from hub.domain.vocabulary import Funding, LeaderRank, QuotaCategory, UnitKind, UnitLevel

HEADERS = {
    "units.csv": ["code", "name", "kind", "level", "region_code", "parent_code", "funding", "grade",
                  "civil_service_managed", "classification", "dispatched"],
    "quotas.csv": ["unit_code", "category", "approved"],
    "leader_quotas.csv": ["unit_code", "rank", "approved"],
    "persons.csv": ["id_number", "name", "gender", "birth_date", "education"],
    "postings.csv": ["id_number", "unit_code", "category", "leader_rank", "start_date"],
}
ORGAN_CATEGORIES = {"ADMINISTRATIVE", "POLITICAL_LEGAL", "WORKER"}
INSTITUTION_CATEGORIES = {"PUBLIC_INSTITUTION", "WORKER"}
PERSONS = 2000


def read(directory: Path, name: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(directory / name, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class City:
    def __init__(self, directory: Path, summary, progress: list[int]):
        self.dir = directory
        self.summary = summary
        self.progress = progress
        self.headers = {}
        for name in HEADERS:
            header, rows = read(directory, name)
            self.headers[name] = header
            setattr(self, name.removesuffix(".csv"), rows)
        self.unit = {u["code"]: u for u in self.units}


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> City:
    directory = tmp_path_factory.mktemp("city")
    calls: list[int] = []
    summary = generate_city(directory, PERSONS, seed=7, progress=calls.append)
    return City(directory, summary, calls)


def test_files_and_headers_are_exact(city):
    assert sorted(p.name for p in city.dir.iterdir()) == sorted(HEADERS)
    for name, header in HEADERS.items():
        assert city.headers[name] == header, name
        first_line = (city.dir / name).read_bytes().split(b"\n", 1)[0]
        assert first_line == ",".join(header).encode("utf-8")  # no BOM, no CR
    s = city.summary
    assert (s.units, s.quotas, s.leader_quotas, s.persons, s.postings) == (
        len(city.units), len(city.quotas), len(city.leader_quotas), len(city.persons), len(city.postings))
    assert s.persons == s.postings == PERSONS
    assert s.approved == sum(int(q["approved"]) for q in city.quotas)


def test_progress_is_reported(city):
    assert city.progress == list(range(1000, PERSONS + 1, 1000))


def test_unit_codes_are_valid_unique_and_structured(city):
    codes = [u["code"] for u in city.units]
    assert len(set(codes)) == len(codes)
    assert len({c[8:17] for c in codes}) == len(codes)  # organisation codes unique too
    assert len({u["name"] for u in city.units}) == len(codes)
    second = {"PUBLIC_INSTITUTION": "2", "MASS_ORGANIZATION": "3"}  # every organ (机关) kind: "1"
    for u in city.units:
        assert parse_unit_code(u["code"]) == u["code"]
        Unit.new(code=u["code"], name=u["name"], kind=u["kind"], level=u["level"], region_code=u["region_code"],
                 funding=u["funding"], parent_code=u["parent_code"] or None)
        assert u["code"][0] == "1" and u["code"][1] == second.get(u["kind"], "1")
        assert u["code"][2:8] == u["region_code"]
        if u["kind"] != "PUBLIC_INSTITUTION":
            assert u["funding"] == "FULL"


def test_every_kind_level_funding_and_district_present(city):
    assert {u["kind"] for u in city.units} == {k.value for k in UnitKind}
    assert {u["level"] for u in city.units} == {lv.value for lv in UnitLevel}
    assert {u["funding"] for u in city.units} == {f.value for f in Funding}
    assert len(DISTRICT_CODES) == 13
    regions = {u["region_code"] for u in city.units}
    assert regions == {"330100", *DISTRICT_CODES}
    for u in city.units:
        assert (u["level"] == "CITY") == (u["region_code"] == "330100")
    for d in DISTRICT_CODES:
        levels = {u["level"] for u in city.units if u["region_code"] == d}
        assert levels == {"DISTRICT", "TOWNSHIP"}, d
    names = {u["name"] for u in city.units}
    assert "杭州市公安局" in names and "中共西湖区委办公室" in names


def test_parents_exist_come_first_and_fit_the_hierarchy(city):
    seen: set[str] = set()
    for u in city.units:
        if u["parent_code"]:
            assert u["parent_code"] in seen, u["name"]
            parent = city.unit[u["parent_code"]]
            assert parent["kind"] != "PUBLIC_INSTITUTION"
            if u["level"] == "TOWNSHIP":
                assert parent["level"] == "DISTRICT" and parent["region_code"] == u["region_code"]
            else:
                assert parent["level"] == u["level"] and parent["region_code"] == u["region_code"]
        seen.add(u["code"])
    township = [u for u in city.units if u["level"] == "TOWNSHIP"]
    assert township and all(u["parent_code"] for u in township)
    institutions = [u for u in city.units if u["kind"] == "PUBLIC_INSTITUTION"]
    assert sum(1 for u in institutions if u["parent_code"]) > len(institutions) / 2


def test_persons_are_valid_unique_and_agree_with_their_id(city):
    ids = [p["id_number"] for p in city.persons]
    assert len(set(ids)) == len(ids)
    assert len({i[:16] for i in ids}) == len(ids)  # serial unique per (region, birth date)
    for p in city.persons:
        idn = parse_id_number(p["id_number"])
        assert idn.value == p["id_number"]
        assert p["gender"] == idn.gender == ("M" if int(p["id_number"][16]) % 2 else "F")
        assert p["birth_date"] == idn.birth_date.isoformat() == (
            f"{p['id_number'][6:10]}-{p['id_number'][10:12]}-{p['id_number'][12:14]}")
        parse_region_code(idn.region_code)
        assert idn.region_code[0] in "1234567"
        Person.new(id_number=p["id_number"], name=p["name"], gender=p["gender"],
                   birth_date=date.fromisoformat(p["birth_date"]), education=p["education"])
        assert 2 <= len(p["name"]) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in p["name"])
    assert len({p["name"][0] for p in city.persons}) > 30
    genders = Counter(p["gender"] for p in city.persons)
    assert genders["M"] > PERSONS * 0.3 and genders["F"] > PERSONS * 0.3


def test_education_is_plausible(city):
    edu = Counter(p["education"] for p in city.persons)
    assert edu["BACHELOR"] == max(edu.values())
    kind_of = {q["id_number"]: city.unit[q["unit_code"]]["kind"] for q in city.postings}
    cat_of = {q["id_number"]: q["category"] for q in city.postings}

    def degree_share(pred):
        group = [p for p in city.persons if pred(p)]
        return sum(p["education"] in ("BACHELOR", "MASTER", "DOCTORATE") for p in group) / len(group)

    organ_cadres = degree_share(lambda p: kind_of[p["id_number"]] != "PUBLIC_INSTITUTION"
                                and cat_of[p["id_number"]] != "WORKER")
    workers = degree_share(lambda p: cat_of[p["id_number"]] == "WORKER")
    assert organ_cadres > 0.8 and workers < 0.4


def test_every_person_holds_exactly_one_posting_in_an_existing_quota(city):
    assert Counter(q["id_number"] for q in city.postings) == Counter(p["id_number"] for p in city.persons)
    quota_rows = {(q["unit_code"], q["category"]) for q in city.quotas}
    assert len(quota_rows) == len(city.quotas)
    birth = {p["id_number"]: date.fromisoformat(p["birth_date"]) for p in city.persons}
    for q in city.postings:
        unit = city.unit[q["unit_code"]]
        assert (q["unit_code"], q["category"]) in quota_rows
        allowed = INSTITUTION_CATEGORIES if unit["kind"] == "PUBLIC_INSTITUTION" else ORGAN_CATEGORIES
        assert q["category"] in allowed
        start = date.fromisoformat(q["start_date"])
        assert start <= REFERENCE_DATE
        assert age_on(birth[q["id_number"]], start) >= 21
        if q["leader_rank"]:
            LeaderRank(q["leader_rank"])
            assert unit["kind"] != "PUBLIC_INSTITUTION" and q["category"] != "WORKER"


def test_quota_rows_by_unit_kind(city):
    cats = defaultdict(set)
    for q in city.quotas:
        cats[q["unit_code"]].add(q["category"])
        assert int(q["approved"]) >= 1
        QuotaCategory(q["category"])
    for u in city.units:
        if u["kind"] == "PUBLIC_INSTITUTION":
            assert "PUBLIC_INSTITUTION" in cats[u["code"]] and cats[u["code"]] <= INSTITUTION_CATEGORIES
        else:
            assert "ADMINISTRATIVE" in cats[u["code"]] and cats[u["code"]] <= ORGAN_CATEGORIES
    police = [u["code"] for u in city.units if "公安" in u["name"]]
    assert police and all("POLITICAL_LEGAL" in cats[c] for c in police)


def test_postings_fit_quota_except_planted(city):
    approved = {(q["unit_code"], q["category"]): int(q["approved"]) for q in city.quotas}
    used = Counter((q["unit_code"], q["category"]) for q in city.postings)
    over = {unit for (unit, cat), n in used.items() if n > approved[(unit, cat)]}
    planted = set(city.summary.planted[PLANTED_OVER_QUOTA])
    assert planted and over == planted
    ratio = sum(approved.values()) / PERSONS
    assert 1.06 <= ratio <= 1.10


def test_leaders_fit_leader_quota_except_planted(city):
    approved = {(q["unit_code"], q["rank"]): int(q["approved"]) for q in city.leader_quotas}
    assert len(approved) == len(city.leader_quotas)
    used = Counter((q["unit_code"], q["leader_rank"]) for q in city.postings if q["leader_rank"])
    over = {unit for key, n in used.items() if n > approved.get(key, 0) for unit in [key[0]]}
    planted = set(city.summary.planted[PLANTED_LEADERSHIP])
    assert planted and over == planted
    city_ranks = {r.value for r in LeaderRank}
    section_ranks = {"SECTION_CHIEF", "DEPUTY_SECTION_CHIEF"}
    for (unit, rank) in approved:
        u = city.unit[unit]
        assert u["kind"] != "PUBLIC_INSTITUTION"
        assert rank in (city_ranks if u["level"] == "CITY" else section_ranks)
    assert any(rank == "DIVISION_CHIEF" for (_, rank) in approved)
    organ_postings = [q for q in city.postings if city.unit[q["unit_code"]]["kind"] != "PUBLIC_INSTITUTION"]
    share = sum(1 for q in organ_postings if q["leader_rank"]) / len(organ_postings)
    assert 0.05 <= share <= 0.16


def test_retirement_due_is_exactly_the_planted_persons(city):
    category = {q["id_number"]: q["category"] for q in city.postings}
    past = set()
    for p in city.persons:
        birth = date.fromisoformat(p["birth_date"])
        if is_past_retirement(birth, p["gender"], category[p["id_number"]] == "WORKER", REFERENCE_DATE):
            past.add(p["id_number"])
        else:
            assert 22 <= age_on(birth, REFERENCE_DATE) <= 62
    planted = city.summary.planted[PLANTED_RETIREMENT]
    assert planted and past == set(planted)
    assert len(planted) == round(0.01 * PERSONS)
    for idn in planted:
        parsed = parse_id_number(idn)
        assert parsed.gender == "M"
        assert (REFERENCE_DATE - parsed.birth_date).days / 365.2425 > 63.5


def test_small_city_still_plants_one_of_each(tmp_path):
    summary = generate_city(tmp_path, 200, seed=3)
    assert summary.persons == 200
    assert all(len(v) >= 1 for v in summary.planted.values())
    assert set(summary.planted) == {PLANTED_OVER_QUOTA, PLANTED_LEADERSHIP, PLANTED_RETIREMENT}


def test_no_anomalies_means_a_clean_city(tmp_path):
    summary = generate_city(tmp_path, 1000, seed=5, anomalies=0)
    assert all(v == [] for v in summary.planted.values())
    _, quotas = read(tmp_path, "quotas.csv")
    _, leader_quotas = read(tmp_path, "leader_quotas.csv")
    _, postings = read(tmp_path, "postings.csv")
    approved = {(q["unit_code"], q["category"]): int(q["approved"]) for q in quotas}
    for key, n in Counter((q["unit_code"], q["category"]) for q in postings).items():
        assert n <= approved[key]
    lead = {(q["unit_code"], q["rank"]): int(q["approved"]) for q in leader_quotas}
    for key, n in Counter((q["unit_code"], q["leader_rank"]) for q in postings if q["leader_rank"]).items():
        assert n <= lead.get(key, 0)


def test_same_seed_same_bytes_other_seed_other_city(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_city(a, 1500, seed=11)
    generate_city(b, 1500, seed=11)
    generate_city(c, 1500, seed=12)
    for name in HEADERS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "persons.csv").read_bytes() != (c / "persons.csv").read_bytes()
    assert (a / "units.csv").read_bytes() != (c / "units.csv").read_bytes()


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError):
        generate_city(tmp_path, -1)
    with pytest.raises(ValueError):
        generate_city(tmp_path, 10, anomalies=1.5)


def test_the_city_is_graded_like_a_sub_provincial_city_and_leaders_fit_their_units_grade(city):
    """Issue 19: city departments 副厅(局)级, district departments 正处级, county-level ones 正科级; every leader rank and
    leader position fits its unit's grade; classifications only for public institutions, dispatched bodies only organs."""
    from hub.demo.city import COUNTY_REGIONS
    from hub.domain.registry import leader_rank_fits_grade

    grades = {(u["level"], u["region_code"] in COUNTY_REGIONS): set() for u in city.units}
    for u in city.units:
        grades[(u["level"], u["region_code"] in COUNTY_REGIONS)].add(u["grade"])
    assert grades[("CITY", False)] == {"DEPUTY_BUREAU"}
    assert grades[("DISTRICT", False)] == {"DIVISION"} and grades[("DISTRICT", True)] == {"SECTION"}
    assert grades[("TOWNSHIP", True)] == {"SECTION"}
    for p in city.postings:
        if p["leader_rank"]:
            assert leader_rank_fits_grade(city.unit[p["unit_code"]]["grade"], p["leader_rank"]), p
    for q in city.leader_quotas:
        assert leader_rank_fits_grade(city.unit[q["unit_code"]]["grade"], q["rank"]), q
    institutions = [u for u in city.units if u["kind"] == "PUBLIC_INSTITUTION"]
    assert all(u["classification"] for u in institutions) and not any(u["dispatched"] for u in institutions)
    assert not any(u["classification"] or u["civil_service_managed"] == "true" for u in city.units if u not in institutions)
    assert any(u["dispatched"] == "SUBDISTRICT_OFFICE" for u in city.units)
    assert all(u["classification"] == "ADMINISTRATIVE_FUNCTIONS" for u in institutions if u["civil_service_managed"] == "true")
    assert {u["classification"] for u in institutions} >= {"PUBLIC_WELFARE_1", "PUBLIC_WELFARE_2"}
