#!/usr/bin/env bash
# Build Hilum's Linux bundle and installer archive, then run the bundle's self-test.
#
#   bash packaging/build.sh            -> dist/hilum/ (onedir bundle)
#                                         dist/hilum-<version>-linux-x86_64.tar.gz (installer)
#
# Uses the project's .venv (created by `make test`), adding the `package` extra
# (pyinstaller + pyinstaller-hooks-contrib). Exits non-zero if the build or self-test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON_BIN:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || { echo "No $PY: run 'make test' (or create .venv) first." >&2; exit 1; }

"$PY" -m pip install --quiet -e ".[package]"
[ -f resources/models/default/card.json ] || echo "warning: no default model in resources/models/default; the self-test will fail" >&2

rm -rf build/pyinstaller dist/hilum
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --workpath build/pyinstaller --distpath dist packaging/hilum.spec

# TensorFlow's two big libraries carry symbols no user needs: stripping them saves ~300 MB.
# (Only these: stripping every library, PyInstaller's strip=True, breaks numpy's OpenBLAS.)
if command -v strip >/dev/null; then
  strip --strip-unneeded dist/hilum/_internal/tensorflow/libtensorflow_cc.so.* \
    dist/hilum/_internal/tensorflow/libtensorflow_framework.so.*
fi

version=$("$PY" -c "from importlib.metadata import version; print(version('hilum'))")
archive="dist/hilum-${version}-linux-$(uname -m).tar.gz"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/hilum-$version"
cp -a dist/hilum "$stage/hilum-$version/app"
cp packaging/linux/install.sh packaging/linux/hilum.desktop "$stage/hilum-$version/"
cp resources/icons/hilum.png "$stage/hilum-$version/hilum.png"
tar -C "$stage" -czf "$archive.partial" "hilum-$version"
mv "$archive.partial" "$archive"   # never leave a half-written installer under its real name

echo "== bundle size"
du -sh dist/hilum
du -sh dist/hilum/_internal/* 2>/dev/null | sort -rh | head -12
ls -lh "$archive"

echo "== self-test of the bundle"
QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen} dist/hilum/hilum --self-test
