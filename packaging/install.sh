#!/usr/bin/env bash
# Install the built one-folder app for the current user (run from inside packaging/dist/dad-studio,
# or give its path): the app goes to $PREFIX/lib/dad-studio, a link to $PREFIX/bin/dad-studio, the
# .desktop file and icons to $PREFIX/share. PREFIX defaults to ~/.local.
# Usage: bash install.sh [APP_DIR]      (PREFIX=/opt/dad-studio bash install.sh to choose)
set -euo pipefail
APP_DIR=$(cd "${1:-$(dirname "$0")}" && pwd)
PREFIX=${PREFIX:-$HOME/.local}
[ -x "$APP_DIR/dad-studio" ] || { echo "no dad-studio executable in $APP_DIR" >&2; exit 2; }
mkdir -p "$PREFIX/lib" "$PREFIX/bin" "$PREFIX/share/applications" "$PREFIX/share/icons"
rm -rf "$PREFIX/lib/dad-studio"
cp -r "$APP_DIR" "$PREFIX/lib/dad-studio"
ln -sf "$PREFIX/lib/dad-studio/dad-studio" "$PREFIX/bin/dad-studio"
sed "s|^Exec=dad-studio|Exec=$PREFIX/bin/dad-studio|; s|^TryExec=dad-studio|TryExec=$PREFIX/bin/dad-studio|" \
  "$APP_DIR/share/applications/dad-studio.desktop" > "$PREFIX/share/applications/dad-studio.desktop"
cp -r "$APP_DIR/share/icons/hicolor" "$PREFIX/share/icons/"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$PREFIX/share/applications" || true
echo "installed: $PREFIX/bin/dad-studio and $PREFIX/share/applications/dad-studio.desktop"
