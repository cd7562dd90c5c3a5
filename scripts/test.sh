#!/usr/bin/env bash
# Installs what the tests need and runs them; this is the README's test command and what CI runs.
#  - Debian's dovecot-imapd: the IMAP tests start a private Dovecot on 127.0.0.1 (never the system one)
#  - Debian's chromium and a CJK font: the web tests drive a headless Chromium (Playwright with the
#    system browser; `playwright install` is never needed)
#  - a virtualenv in .venv with Dossier and its test extras
#  - the architecture's import contracts (import-linter, [tool.importlinter] in pyproject.toml)
# Extra arguments go to pytest (e.g. `bash scripts/test.sh tests/sync -x`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
if ! command -v dovecot >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1 \
    || ! command -v chromium >/dev/null 2>&1 || ! [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends dovecot-imapd openssl \
    chromium fonts-wqy-microhei
fi
python3 -m venv .venv
.venv/bin/pip install -q -e '.[test]'
.venv/bin/lint-imports --no-cache
DOSSIER_REQUIRE_DOVECOT=1 DOSSIER_REQUIRE_BROWSER=1 exec .venv/bin/python -m pytest "$@"
