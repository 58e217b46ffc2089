"""Write the GraphQL SDL to schema/registry.graphql (a test fails when code and file differ)."""

from pathlib import Path

from hub.api.build import build_schema

path = Path(__file__).resolve().parents[1] / "schema" / "registry.graphql"
path.write_text(str(build_schema()) + "\n", encoding="utf-8")
print(f"wrote {path}")
