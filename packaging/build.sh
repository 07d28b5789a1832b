#!/usr/bin/env bash
# Build one edition of Hilum's Linux bundle and installer archive, then run the bundle's self-test.
#
#   bash packaging/build.sh [workstation]  -> dist/hilum/ (onedir bundle, training included)
#                                             dist/hilum-<version>-linux-x86_64.tar.gz (installer)
#   bash packaging/build.sh reading-room   -> dist/hilum-reading-room/ (no TensorFlow)
#                                             dist/hilum-reading-room-<version>-linux-x86_64.tar.gz
#
# Uses the project's .venv (created by `make test`), adding the `package` extra
# (pyinstaller + pyinstaller-hooks-contrib) when PyInstaller is missing. Exits non-zero if the
# build or self-test fails. Both editions build from the full workstation's environment: the
# reading room's spec leaves out what only training needs (packaging/hilum.spec, TRAINING_ONLY).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON_BIN:-$ROOT/.venv/bin/python}
EDITION=${1:-workstation}
case "$EDITION" in
  workstation) name=hilum ;;
  reading-room) name=hilum-reading-room ;;
  *) echo "Unknown edition '$EDITION': expected workstation or reading-room." >&2; exit 2 ;;
esac
[ -x "$PY" ] || { echo "No $PY: run 'make test' (or create .venv) first." >&2; exit 1; }

"$PY" -c "import PyInstaller" 2>/dev/null || "$PY" -m pip install --quiet -e ".[package]"
[ -f resources/models/default/card.json ] || echo "warning: no default model in resources/models/default; the self-test will fail" >&2

rm -rf "build/pyinstaller-$EDITION" "dist/$name"
HILUM_EDITION=$EDITION "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --workpath "build/pyinstaller-$EDITION" --distpath dist packaging/hilum.spec

# TensorFlow's two big libraries carry symbols no user needs: stripping them saves ~300 MB.
# (Only these: stripping every library, PyInstaller's strip=True, breaks numpy's OpenBLAS.)
if [ "$EDITION" = workstation ] && command -v strip >/dev/null; then
  strip --strip-unneeded dist/hilum/_internal/tensorflow/libtensorflow_cc.so.* \
    dist/hilum/_internal/tensorflow/libtensorflow_framework.so.*
fi

version=$("$PY" -c "from importlib.metadata import version; print(version('hilum'))")
archive="dist/${name}-${version}-linux-$(uname -m).tar.gz"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name-$version"
cp -a "dist/$name" "$stage/$name-$version/app"
cp packaging/linux/install.sh packaging/linux/hilum.desktop "$stage/$name-$version/"
cp resources/icons/hilum.png "$stage/$name-$version/hilum.png"
tar -C "$stage" -czf "$archive.partial" "$name-$version"
mv "$archive.partial" "$archive"   # never leave a half-written installer under its real name

echo "== bundle size ($EDITION)"
du -sh "dist/$name"
du -sh "dist/$name"/_internal/* 2>/dev/null | sort -rh | head -12
ls -lh "$archive"

echo "== self-test of the bundle ($EDITION)"
QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen} "dist/$name/hilum" --self-test
