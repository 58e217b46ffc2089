"""Write a small registry as the import CSVs (contract section 5)."""

from __future__ import annotations

import csv
from pathlib import Path

from hub.domain.identifiers import parse_id_number


def write_registry(directory: Path, *, units: list[dict], persons: list[tuple[str, str]], postings: list[tuple],
                   quotas: list[tuple] | None = None, leader_quotas: list[tuple] | None = None) -> Path:
    """units: dicts with code, name (and optional kind/level/funding); persons: (id, name);
    postings: (id, unit, category[, rank]); quotas: (unit, category, approved)."""
    directory.mkdir(parents=True, exist_ok=True)

    def write(name, header, rows):
        with (directory / name).open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)

    write("units.csv", ["code", "name", "kind", "level", "region_code", "parent_code", "funding"],
          [[u["code"], u["name"], u.get("kind", "GOVERNMENT_ORGAN"), u.get("level", "CITY"), u.get("region_code", "330100"),
            u.get("parent_code", ""), u.get("funding", "FULL")] for u in units])
    write("quotas.csv", ["unit_code", "category", "approved"],
          quotas if quotas is not None else [[u["code"], "ADMINISTRATIVE", 10] for u in units])
    write("leader_quotas.csv", ["unit_code", "rank", "approved"], leader_quotas or [])
    write("persons.csv", ["id_number", "name", "gender", "birth_date", "education"],
          [[i, n, parse_id_number(i).gender, parse_id_number(i).birth_date.isoformat(), "BACHELOR"] for i, n in persons])
    write("postings.csv", ["id_number", "unit_code", "category", "leader_rank", "start_date"],
          [[p[0], p[1], p[2], p[3] if len(p) > 3 else "", "2020-01-01"] for p in postings])
    return directory
