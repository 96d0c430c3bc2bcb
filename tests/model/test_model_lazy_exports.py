"""dad_studio.model loads its submodules on first use (PEP 562): the engine's import stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import dad_studio.model as model


def test_every_exported_name_resolves_to_its_submodule_object() -> None:
    from dad_studio.model import definitions, events, node_types, results

    for name in model.__all__:
        value = getattr(model, name)
        sources = [m for m in (definitions, events, node_types, results) if getattr(m, name, None) is value]
        assert sources, name
    assert set(model.__all__) <= set(dir(model))


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        model.no_such_name  # noqa: B018


def test_importing_the_event_vocabulary_loads_no_settings_or_plugins() -> None:
    code = (
        "import sys, dad_studio.model.events; "
        "print(sorted(m for m in ('dad_studio.model.settings', 'dad_studio.model.node_types', "
        "'dad_studio.model.definitions', 'importlib.metadata') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
