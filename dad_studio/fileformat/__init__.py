"""Load, save, migrate and validate `*.dad.json` flow files (FLOW_FORMAT.md).

Loading runs in stages (STYLE.md, "Loading in stages"): bytes -> JSON (duplicate keys are errors)
-> migrate by `schema_version` -> the pydantic model -> semantic checks against the node registry.
Every stage collects Problems (JSON pointer + sentence + severity) and never raises for a bad file.
Saving writes one canonical byte form (see `canonical.py` for the key order and default rules),
atomically.
"""

from dad_studio.fileformat.canonical import document_tree, dumps_flow, save_flow, write_atomic
from dad_studio.fileformat.loader import load_flow, load_ref, loads_flow
from dad_studio.fileformat.migrate import FORMAT_NAME, MIGRATORS, SCHEMA_VERSION, register_migrator
from dad_studio.fileformat.problems import FlowFileError, LoadResult, Problem
from dad_studio.fileformat.rawjson import MAX_FILE_BYTES, MAX_NESTING
from dad_studio.fileformat.schema import json_schema
from dad_studio.fileformat.validate import validate_component

__all__ = [
    "FORMAT_NAME",
    "MAX_FILE_BYTES",
    "MAX_NESTING",
    "MIGRATORS",
    "SCHEMA_VERSION",
    "FlowFileError",
    "LoadResult",
    "Problem",
    "document_tree",
    "dumps_flow",
    "json_schema",
    "load_flow",
    "load_ref",
    "loads_flow",
    "register_migrator",
    "save_flow",
    "validate_component",
    "write_atomic",
]
