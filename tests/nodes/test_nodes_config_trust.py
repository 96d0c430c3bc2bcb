"""User config loading, trust decisions and key scrubbing."""

from __future__ import annotations

import json

import pytest

from dad_studio.nodes.config import ConfigError, UserConfig, config_dir
from dad_studio.nodes.providers.base import scrub
from dad_studio.nodes.trust import is_trusted, trust_folder


def test_config_dir_env_override(user_config_dir):
    assert config_dir() == user_config_dir


def test_credentials_env_wins_over_file(user_config_dir, monkeypatch):
    (user_config_dir / "credentials.json").write_text(json.dumps({"OPENAI_API_KEY": "from-file", "EMPTY": ""}))
    config = UserConfig.load()
    assert config.credential("OPENAI_API_KEY") == "from-file"
    assert config.credential("EMPTY") is None and config.credential("MISSING") is None
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    assert config.credential("OPENAI_API_KEY") == "from-env"
    assert "from-file" not in repr(config)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("credentials.json", '{"OPENAI_API_KEY": "sk-secret-value-123', "line 1"),
        ("credentials.json", "[1]", "must hold a JSON object"),
        ("config.json", '{"trusted_folders": "x"}', "trusted_folders"),
        ("config.json", '{"providers": {"openai": 1}}', "providers"),
    ],
)
def test_bad_config_files(user_config_dir, name, content, message):
    (user_config_dir / name).write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        UserConfig.load()
    assert "sk-secret" not in str(info.value)


def test_trust_folder_round_trip(tmp_path, user_config_dir):
    project = tmp_path / "project"
    (project / "flows").mkdir(parents=True)
    flow = project / "flows" / "a.dad.json"
    flow.write_text("{}")
    other = tmp_path / "project2"
    other.mkdir()
    assert not is_trusted(flow)
    assert trust_folder(project) == project.resolve()
    assert is_trusted(flow) and is_trusted(project)
    assert not is_trusted(other)  # a sibling sharing a prefix is not inside
    trust_folder(project)  # idempotent
    saved = json.loads((user_config_dir / "config.json").read_text())
    assert saved["trusted_folders"] == [str(project.resolve())]
    # a symlink into the trusted folder is judged by where it leads, and one out of it too
    link = other / "link.dad.json"
    link.symlink_to(flow)
    assert is_trusted(link)
    (project / "escape").symlink_to(other)
    assert not is_trusted(project / "escape" / "x.dad.json")


def test_trust_a_file_trusts_its_folder(tmp_path):
    flow = tmp_path / "f.dad.json"
    flow.write_text("{}")
    assert trust_folder(flow) == tmp_path.resolve()


def test_scrub_removes_keys_and_fragments():
    key = "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    msg = f"bad key {key}; masked sk-proj-ABCDEFGHIJKL****6789; header Bearer {key[5:30]}"
    cleaned = scrub(msg, [key, None, ""])
    assert "ABCDEFGHIJKL" not in cleaned and "MNOPQRSTUVWX" not in cleaned
    assert cleaned.startswith("bad key ***;")
