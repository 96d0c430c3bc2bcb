#!/usr/bin/env bash
# Build the one-folder Linux app: packaging/dist/dad-studio/dad-studio (+ share/ with the .desktop
# file and icons). Everything happens in a private venv (packaging/build/venv) so that PyInstaller
# and a non-editable install of dad-studio never touch .venv. Both folders are git-ignored.
# Usage: bash packaging/build.sh        (PYTHON=python3.11 to choose the interpreter)
# Then:  bash packaging/smoke_test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=packaging/build/venv
DIST=packaging/dist
start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
# A real (non-editable) install: the bundle must get the files, including resources/ as
# dad_studio/_resources (pyproject force-include), not a path back into this checkout.
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps .
"$VENV/bin/python" -m pip install -q . "pyinstaller>=6.10,<7"
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath packaging/build/work packaging/dad-studio.spec
app="$DIST/dad-studio"
mkdir -p "$app/share/applications" "$app/share/icons"
cp packaging/dad-studio.desktop "$app/share/applications/"
cp -r packaging/icons/hicolor "$app/share/icons/"
cp packaging/install.sh "$app/"
echo "built $app/dad-studio ($(du -sh "$app" | cut -f1), $(($(date +%s) - start)) s)"
