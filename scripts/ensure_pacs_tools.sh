#!/usr/bin/env bash
# Make sure the DICOM network test tools are present: a real PACS (Orthanc) and DCMTK's
# command-line clients (storescu, findscu, movescu, echoscu, dsrdump). The PACS tests run against
# them; they are test tools only, never needed to run Hilum.
# Installs the missing Debian packages with apt-get when running as root (CI); otherwise names
# them and carries on: the PACS tests then skip with that reason. Exits non-zero only when
# running as root and the installation fails.
set -euo pipefail

# command -> Debian package
declare -A pkgs=([Orthanc]=orthanc [storescu]=dcmtk [findscu]=dcmtk [movescu]=dcmtk
                 [echoscu]=dcmtk [dsrdump]=dcmtk)
missing=()
for tool in "${!pkgs[@]}"; do
  # Orthanc lives in /usr/sbin, which is not on every user's PATH
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("${pkgs[$tool]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing the PACS test tools: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts the orthanc service where it can; the tests run their own server.
  if command -v systemctl >/dev/null && systemctl is-active --quiet orthanc 2>/dev/null; then
    systemctl disable --now orthanc >/dev/null 2>&1 || true
  fi
else
  echo "The PACS tests need ${missing[*]} (not installed): they will be skipped." >&2
  echo "Install them with:  sudo apt-get install ${missing[*]}" >&2
fi
