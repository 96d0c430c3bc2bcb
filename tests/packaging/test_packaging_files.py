"""The packaging files agree with each other and with the package, without building anything.

The build itself (PyInstaller, minutes) is `bash packaging/build.sh` + `bash packaging/smoke_test.sh`;
these checks catch the cheap mistakes: a desktop entry that launchers reject, an icon name with no
icon, a spec pointing at a moved file, a script with a syntax error.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import struct
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
DESKTOP = PACKAGING / "dad-studio.desktop"
SPEC = PACKAGING / "dad-studio.spec"
# Main categories of the freedesktop menu specification: an entry needs one of them to be listed.
MAIN_CATEGORIES = {"AudioVideo", "Audio", "Video", "Development", "Education", "Game", "Graphics", "Network"}
MAIN_CATEGORIES |= {"Office", "Science", "Settings", "System", "Utility"}


def desktop_entry() -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  (keys are case-sensitive)
    parser.read_string(DESKTOP.read_text(encoding="utf-8"))
    assert parser.sections() == ["Desktop Entry"]
    return dict(parser["Desktop Entry"])


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def console_script() -> str:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["dad-studio"] == "dad_studio.cli.main:main"
    return "dad-studio"


def test_desktop_entry_fields():
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "DAD Studio"
    assert entry["Terminal"] == "false"
    program, *args = entry["Exec"].split()
    assert program == console_script() == entry["TryExec"]
    assert args == ["%f"]  # one flow file, as `dad-studio [FLOW_FILE]` takes
    categories = entry["Categories"]
    assert categories.endswith(";")
    assert MAIN_CATEGORIES & set(categories.rstrip(";").split(";"))
    assert entry["Keywords"].endswith(";")


def test_desktop_icon_exists_in_every_size():
    name = desktop_entry()["Icon"]
    assert "/" not in name and not name.endswith(".png")  # a theme name, looked up in hicolor
    hicolor = PACKAGING / "icons" / "hicolor"
    pngs = sorted(hicolor.glob(f"*x*/apps/{name}.png"))
    assert {p.parts[-3] for p in pngs} >= {"16x16", "32x32", "48x48", "64x64", "128x128", "256x256"}
    for png in pngs:
        width, height = map(int, png.parts[-3].split("x"))
        assert png_size(png) == (width, height), png
    svg = hicolor / "scalable" / "apps" / f"{name}.svg"
    assert svg.read_bytes() == (REPO / "resources" / "icons" / "app.svg").read_bytes(), "run packaging/make_icons.py"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_file_validate():
    result = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout


def test_spec_points_at_files_that_exist():
    spec = SPEC.read_text(encoding="utf-8")
    paths = re.findall(r'ROOT / "([^"]+)"(?: / "([^"]+)")?', spec)
    assert paths, "the spec names its inputs relative to ROOT"
    for parts in paths:
        assert REPO.joinpath(*[p for p in parts if p]).exists(), parts
    # the bundle puts resources/ where dad_studio/ui/resources.py looks when installed
    assert '"dad_studio/_resources"' in spec
    forced = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert forced["force-include"]["resources"] == "dad_studio/_resources"
    assert 'name="dad-studio"' in spec


def test_scripts_agree_on_the_bundle_path():
    app_dir = "packaging/dist/dad-studio"
    build = (PACKAGING / "build.sh").read_text()
    assert "DIST=packaging/dist" in build and "packaging/dad-studio.spec" in build
    assert "packaging/dad-studio.desktop" in build and "packaging/icons/hicolor" in build
    assert f"{app_dir}/dad-studio" in (PACKAGING / "smoke_test.sh").read_text()
    ignored = (PACKAGING / ".gitignore").read_text().split()
    assert "build/" in ignored and "dist/" in ignored


@pytest.mark.parametrize("script", ["build.sh", "smoke_test.sh", "install.sh"])
def test_scripts_are_executable_bash(script):
    path = PACKAGING / script
    assert os.access(path, os.X_OK)
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_entry_script_runs_the_cli():
    text = (PACKAGING / "entry.py").read_text()
    assert "from dad_studio.cli.main import main" in text and "sys.exit(main())" in text
