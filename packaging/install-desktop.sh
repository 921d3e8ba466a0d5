#!/bin/sh
# Install photocull's desktop entry and icon for the current user (no root needed).
#
#   packaging/install-desktop.sh [PATH/TO/photocull]
#
# With an argument (e.g. the standalone build's DIR/photocull/photocull), the menu entry starts
# that executable (`photocull gui`); without one it keeps `photocull-gui` (pip/venv install on PATH).
# Files go under ${XDG_DATA_HOME:-~/.local/share}: applications/photocull.desktop and
# icons/hicolor/scalable/apps/photocull.svg. Remove those two files to uninstall.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
res="$here/../resources"
[ -f "$res/photocull.desktop" ] || res="$here/resources"  # the bundle's copy: _internal/install-desktop.sh
data="${XDG_DATA_HOME:-$HOME/.local/share}"
apps="$data/applications"
icons="$data/icons/hicolor/scalable/apps"
mkdir -p "$apps" "$icons"

if [ $# -ge 1 ]; then
    exe=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
    [ -x "$exe" ] || { echo "install-desktop: $exe is not an executable" >&2; exit 2; }
    exec_line="Exec=\"$exe\" gui %f"
else
    exec_line="Exec=photocull-gui %f"
fi

tmp="$apps/.photocull.desktop.$$"
sed "s|^Exec=.*|$exec_line|" "$res/photocull.desktop" > "$tmp"
mv -f "$tmp" "$apps/photocull.desktop"
cp -f "$res/icons/photocull.svg" "$icons/.photocull.svg.$$"
mv -f "$icons/.photocull.svg.$$" "$icons/photocull.svg"

command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "installed $apps/photocull.desktop ($exec_line) and $icons/photocull.svg"
