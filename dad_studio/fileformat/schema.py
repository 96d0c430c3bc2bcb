"""The JSON Schema of the flow format, generated from the pydantic models.

The shipped copy (`dad-flow.schema.json`, for editors and other tools) is regenerated with
`python -c "from dad_studio.fileformat.schema import main; main()"` and a test keeps it equal to a fresh generation. Node
settings are tied to the built-in types with `if type == X then settings: XSettings` clauses;
plugin types are not part of the shipped schema (their settings stay an open object).
The schema checks shape only: ids, edges, cycles and templates are `validate`'s job.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from dad_studio.fileformat.migrate import FORMAT_NAME, SCHEMA_VERSION
from dad_studio.model import ComponentDefinition
from dad_studio.model.node_types import BUILTIN_TYPES

SCHEMA_FILE = Path(__file__).with_name("dad-flow.schema.json")
SCHEMA_ID = f"https://dad-studio.dev/schemas/dad-flow-v{SCHEMA_VERSION}.schema.json"


class _FlowDocument(BaseModel):
    """A `*.dad.json` file: one root component."""

    model_config = ConfigDict(extra="forbid", title="DAD flow file")

    format: Literal["dad-flow"]
    schema_version: Literal[2]
    root: ComponentDefinition


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a flow file at SCHEMA_VERSION."""
    assert FORMAT_NAME == "dad-flow" and SCHEMA_VERSION == 2, "update _FlowDocument with the format"
    mode: JsonSchemaMode = "validation"
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(_FlowDocument, mode)]
    models.extend((t.settings_model, mode) for t in BUILTIN_TYPES)
    keys, defs_holder = models_json_schema(models, by_alias=True, ref_template="#/$defs/{model}")
    defs: dict[str, Any] = defs_holder["$defs"]
    document = dict(defs.pop("_FlowDocument"))
    node = defs["NodeDefinition"]
    clauses = []
    for node_type in BUILTIN_TYPES:
        ref = keys[(node_type.settings_model, "validation")]["$ref"]
        clauses.append(
            {
                "if": {"properties": {"type": {"const": node_type.id}}, "required": ["type"]},
                "then": {"properties": {"settings": {"$ref": ref}}},
            }
        )
    node["allOf"] = clauses
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **document,
        "$defs": dict(sorted(defs.items())),
    }


def schema_bytes() -> bytes:
    """The shipped file's exact bytes."""
    return (json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def main() -> int:
    SCHEMA_FILE.write_bytes(schema_bytes())
    print(f"wrote {SCHEMA_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
