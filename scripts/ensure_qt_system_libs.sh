#!/usr/bin/env bash
# Make sure the system libraries PySide6 needs are present.
#   headless: what Qt needs with QT_QPA_PLATFORM=offscreen (tests, CI)
#   gui:      that plus the xcb libraries a real window needs
# Installs missing Debian packages with apt-get when running as root; otherwise names them and
# says how to install them. Exits non-zero only when something is missing and cannot be installed.
set -euo pipefail
mode=${1:-headless}

# library soname -> Debian package
declare -A pkgs=(
  [libGL.so.1]=libgl1 [libEGL.so.1]=libegl1 [libfontconfig.so.1]=libfontconfig1
  [libfreetype.so.6]=libfreetype6 [libxkbcommon.so.0]=libxkbcommon0
  [libglib-2.0.so.0]=libglib2.0-0 [libdbus-1.so.3]=libdbus-1-3
)
if [ "$mode" = gui ]; then
  pkgs+=(
    [libxcb-cursor.so.0]=libxcb-cursor0 [libxcb-icccm.so.4]=libxcb-icccm4
    [libxcb-keysyms.so.1]=libxcb-keysyms1 [libxcb-image.so.0]=libxcb-image0
    [libxcb-render-util.so.0]=libxcb-render-util0 [libxcb-shape.so.0]=libxcb-shape0
    [libxcb-xkb.so.1]=libxcb-xkb1 [libxkbcommon-x11.so.0]=libxkbcommon-x11-0
    [libX11-xcb.so.1]=libx11-xcb1
  )
fi

missing=()
for lib in "${!pkgs[@]}"; do
  /sbin/ldconfig -p 2>/dev/null | grep -q "$lib" || missing+=("${pkgs[$lib]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system libraries Qt needs: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Qt (PySide6) needs these system packages, which are missing: ${missing[*]}" >&2
  echo "Install them with:  sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
