#!/usr/bin/env bash
# Installs the Debian packages a profile needs when they are missing: apt-get as root, sudo
# otherwise. Profiles: build (compile and run), test (build + test tools), bench (build + load
# generators and PostgreSQL).
set -euo pipefail

profile=${1:-build}
# Receipts: cairo, pango and libqrencode draw them, in fonts-wqy-microhei (Chinese, Latin and
# digits in one TrueType font). Not fonts-noto-cjk: its CFF outlines make every receipt 3-4 times
# larger, cairo 1.16 leaks memory for each CFF font it embeds in a PDF, and it is a 56 MB download.
build=(gcc make cmake pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev libssl-dev
       libcurl4-openssl-dev libzip-dev libsodium-dev libcairo2-dev libpango1.0-dev libqrencode-dev
       fonts-wqy-microhei
       sqlite3 curl ca-certificates)
# poppler-utils (pdftotext, pdftoppm) and zbar-tools (zbarimg) read receipts back in the tests;
# Debian's chromium is the browser Playwright drives in the portal's tests.
test=(libcmocka-dev nodejs npm jq poppler-utils zbar-tools chromium)
bench=(wrk postgresql postgresql-contrib)

case "$profile" in
  build) wanted=("${build[@]}") ;;
  test) wanted=("${build[@]}" "${test[@]}") ;;
  bench) wanted=("${build[@]}" "${bench[@]}") ;;
  *) echo "deps.sh: unknown profile '$profile' (build, test or bench)" >&2; exit 2 ;;
esac

missing=()
for package in "${wanted[@]}"; do
  # node and npm may come from another packaging than Debian's; a working binary is enough.
  case "$package" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
