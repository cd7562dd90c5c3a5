#!/usr/bin/env bash
# Installs what the tests need and runs them; this is the README's test command and what CI runs.
#  - Debian's dovecot-imapd: the IMAP tests start a private Dovecot on 127.0.0.1 (never the system one)
#  - Debian's postgresql (and its RUM extension): the tests start a private cluster on 127.0.0.1
#    (never a system cluster) and run every database test on SQLite and on PostgreSQL
#  - Debian's chromium and a CJK font: the web tests drive a headless Chromium (Playwright with the
#    system browser; `playwright install` is never needed)
#  - a virtualenv in .venv with Dossier and its test extras (the PostgreSQL driver among them)
#  - the architecture's import contracts (import-linter, [tool.importlinter] in pyproject.toml)
# Extra arguments go to pytest (e.g. `bash scripts/test.sh tests/sync -x`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
updated=""
install() {
  if [ -z "$updated" ]; then $SUDO apt-get update -q; updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@"
}
if ! command -v dovecot >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
  install dovecot-imapd openssl
fi
if ! command -v chromium >/dev/null 2>&1 || ! [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  install chromium fonts-wqy-microhei
fi
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  install postgresql
fi
PG_MAJOR="$(ls /usr/lib/postgresql | sort -n | tail -1)"
if [ ! -e "/usr/share/postgresql/$PG_MAJOR/extension/rum.control" ]; then
  # RUM orders full-text hits by date inside the index; without it the postgres engine uses GIN.
  install "postgresql-$PG_MAJOR-rum" || echo "postgresql-$PG_MAJOR-rum is not available: testing without RUM"
fi
python3 -m venv .venv
.venv/bin/pip install -q -e '.[test]'
.venv/bin/lint-imports --no-cache
# Each run gets a fresh folder for the tests' files, removed afterwards: nothing a killed run left
# behind can break the next one (pytest's own clean-up of old runs recurses and fails on deep trees).
basetemp="$(mktemp -d "${TMPDIR:-/tmp}/dossier-tests-XXXXXX")"
trap 'rm -rf "$basetemp"' EXIT
DOSSIER_REQUIRE_DOVECOT=1 DOSSIER_REQUIRE_POSTGRES=1 DOSSIER_REQUIRE_BROWSER=1 \
  .venv/bin/python -m pytest --basetemp="$basetemp" "$@"
