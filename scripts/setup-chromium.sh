#!/usr/bin/env bash
# Makes sure headless Chromium is there for test/report/browser.test.ts (it renders `tune report`): $CHROMIUM, else
# `chromium` on PATH; else installs Debian's chromium package where this user may (root or passwordless sudo, and
# apt-get); else one line saying what is missing, and exit 1. TRITUNE_SKIP_BROWSER=1 skips it, as it skips that test.
set -euo pipefail

fail() { echo "setup:chromium: $*" >&2; exit 1; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; elif sudo -n true 2>/dev/null; then sudo -n "$@"; else return 1; fi; }

if [[ ${TRITUNE_SKIP_BROWSER:-} == 1 ]]; then echo "setup:chromium: skipped (TRITUNE_SKIP_BROWSER=1)"; exit 0; fi
if [[ -n ${CHROMIUM:-} ]]; then
  [[ -x $CHROMIUM ]] || fail "CHROMIUM=$CHROMIUM is not an executable file"
  echo "setup:chromium: $CHROMIUM"; exit 0
fi
if command -v chromium >/dev/null; then echo "setup:chromium: $(command -v chromium)"; exit 0; fi

command -v apt-get >/dev/null || fail "chromium is missing and there is no apt-get to install it: install Chromium and put it on PATH or set CHROMIUM=<path>"
as_root true || fail "chromium is missing and installing it needs root (apt-get install chromium): install it, or set CHROMIUM=<path>"
echo "setup:chromium: installing chromium (apt-get)"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
  && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
  || fail "apt-get could not install chromium (its message is above): install Chromium, or set CHROMIUM=<path>"
command -v chromium >/dev/null || fail "apt-get installed chromium but no chromium is on PATH: set CHROMIUM=<path>"
echo "setup:chromium: $(command -v chromium)"
