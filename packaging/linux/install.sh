#!/usr/bin/env bash
# Install Hilum from the unpacked archive.
#   ./install.sh            -> ~/.local/opt/hilum, launcher in ~/.local/bin, menu entry for you
#   sudo ./install.sh --system -> /opt/hilum, /usr/local/bin/hilum, menu entry for everyone
# Re-running upgrades in place: the new version is copied beside the old one, then swapped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = "--system" ]; then
  prefix=/opt/hilum; bin=/usr/local/bin; apps=/usr/share/applications; icons=/usr/share/icons/hicolor/256x256/apps
else
  prefix=$HOME/.local/opt/hilum; bin=$HOME/.local/bin; apps=$HOME/.local/share/applications; icons=$HOME/.local/share/icons/hicolor/256x256/apps
fi
mkdir -p "$(dirname "$prefix")" "$bin" "$apps" "$icons"
rm -rf "$prefix.new"
cp -a "$here/app" "$prefix.new"
if [ -d "$prefix" ]; then mv "$prefix" "$prefix.old"; fi
mv "$prefix.new" "$prefix"
rm -rf "$prefix.old"
ln -sf "$prefix/hilum" "$bin/hilum"
cp "$here/hilum.png" "$icons/hilum.png"
sed "s|@EXEC@|$prefix/hilum|" "$here/hilum.desktop" > "$apps/hilum.desktop"
echo "Hilum installed in $prefix. Start it from the applications menu or with: $bin/hilum"
echo "Check the installation with: $bin/hilum --self-test"
