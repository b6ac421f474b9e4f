#!/usr/bin/env bash
# The browser suite, end to end: the course's widgets in JupyterLab in a real Chromium.
#
#   bash tests/browser/run.sh            # from the repository root (or anywhere)
#   bash tests/browser/run.sh --grep 01  # extra arguments go to `playwright test`
#   BROWSER_TESTS_FULL=1 bash tests/browser/run.sh   # also the notebooks that train first (09, 11)
#   BROWSER_TESTS_BREAK_WIDGETS=1 bash tests/browser/run.sh  # widget extension off: must FAIL
#
# 1. installs Debian's chromium (and nodejs/npm) with apt if missing (never a downloaded browser),
# 2. `npm ci` (Galata 5.6 + Playwright; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1), skipped
#    when node_modules already matches package-lock.json,
# 3. starts JupyterLab 4.6 on 127.0.0.1 (free port, no token, dedicated config, data
#    and runtime dirs, a temporary root dir into which each test uploads its
#    notebook), kernels with TACOLIB_FAST=1,
# 4. runs the Playwright tests (widgets.spec.ts), stops the server,
# 5. leaves screenshots, per-notebook reports, the HTML report and the server log in
#    tests/browser/artifacts/ (git-ignored), and prints one summary line.
# Exits non-zero on any failure, including a negative control that stopped failing.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$HERE"
START=$(date +%s)
ARTIFACTS="$HERE/artifacts"
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"

summary() { # status, message
  echo "BROWSER TESTS: $1 - $2 ($(( $(date +%s) - START )) s; artifacts in tests/browser/artifacts/)"
}
die() { summary FAIL "$1"; exit 1; }
step() { echo "== [$(( $(date +%s) - START )) s] $*"; }

# -- 1. the system browser ---------------------------------------------------------
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_PATH" ]; then
  step "installing Debian's chromium (apt)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null \
    || die "apt-get install chromium failed"
fi
[ -x "$CHROMIUM_PATH" ] || die "no chromium at $CHROMIUM_PATH"
export CHROMIUM_PATH
step "$("$CHROMIUM_PATH" --version 2>/dev/null)"

# -- 2. Galata + Playwright from the lock file ---------------------------------------
if ! command -v npm >/dev/null 2>&1; then
  step "installing Debian's nodejs and npm (apt)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null \
    || die "apt-get install nodejs npm failed"
fi
step "node $(node --version), npm $(npm --version)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
LOCK_HASH="$(sha256sum package-lock.json | cut -c1-64)"
if [ "$(cat node_modules/.tacotron2-lock-hash 2>/dev/null)" != "$LOCK_HASH" ]; then
  step "npm ci"
  npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed"
  echo "$LOCK_HASH" > node_modules/.tacotron2-lock-hash
fi

# -- 3. JupyterLab ------------------------------------------------------------------
if [ -n "${PYTHON:-}" ]; then PY="$PYTHON"
elif [ -x "$REPO/.venv/bin/python" ]; then PY="$REPO/.venv/bin/python"
else PY="$(command -v python3)"; fi
LAB_VERSION="$("$PY" -c 'import jupyterlab; print(jupyterlab.__version__)')" || die "jupyterlab is not importable by $PY"
GALATA_VERSION="$(node -p 'require("@jupyterlab/galata/package.json").version')"
step "JupyterLab $LAB_VERSION ($PY), Galata $GALATA_VERSION"
# Galata 5.N drives JupyterLab 4.N: the minor versions must match.
[ "${LAB_VERSION#4.}" != "$LAB_VERSION" ] && [ "$(echo "$LAB_VERSION" | cut -d. -f2)" = "$(echo "$GALATA_VERSION" | cut -d. -f2)" ] \
  || die "Galata $GALATA_VERSION does not match JupyterLab $LAB_VERSION (need 5.x <-> 4.x, same minor)"

WORK="$(mktemp -d -t tacotron2-browser-XXXXXX)"
mkdir -p "$WORK/root" "$WORK/config" "$WORK/data" "$WORK/runtime"
if [ "${BROWSER_TESTS_BREAK_WIDGETS:-0}" = 1 ]; then
  # A second negative control, by hand: without the ipywidgets extension nothing may pass.
  step "BROWSER_TESTS_BREAK_WIDGETS=1: disabling @jupyter-widgets/jupyterlab-manager (expect failures)"
  mkdir -p "$WORK/config/labconfig"
  echo '{"disabledExtensions": {"@jupyter-widgets/jupyterlab-manager": true}}' > "$WORK/config/labconfig/page_config.json"
fi
PORT="${BROWSER_TESTS_PORT:-$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "starting JupyterLab on 127.0.0.1:$PORT (root $WORK/root)"
(
  cd "$WORK/root"
  unset MPLBACKEND  # kernels must use the inline backend, as a learner's do
  export TACOLIB_FAST=1 OMP_NUM_THREADS=1 TACOLIB_THREADS=1 PYTHONUNBUFFERED=1
  export JUPYTER_CONFIG_DIR="$WORK/config" JUPYTER_RUNTIME_DIR="$WORK/runtime"
  export JUPYTERLAB_GALATA_ROOT_DIR="$WORK/root" BROWSER_TESTS_PORT="$PORT"
  exec "$PY" -m jupyterlab --config "$HERE/jupyter_server_test_config.py" --no-browser
) >"$ARTIFACTS/jupyter-server.log" 2>&1 &
SERVER_PID=$!
up() { "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "http://127.0.0.1:$PORT/api/status" 2>/dev/null; }
for _ in $(seq 120); do
  up && break
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$ARTIFACTS/jupyter-server.log"; die "JupyterLab exited at start"; }
  sleep 0.5
done
up || { tail -20 "$ARTIFACTS/jupyter-server.log"; die "JupyterLab did not answer in 60 s"; }

# -- 4. the tests -------------------------------------------------------------------
step "playwright test"
TARGET_URL="http://127.0.0.1:$PORT" npx playwright test "$@"
RC=$?

# -- 5. summary ---------------------------------------------------------------------
STATS="$(node -e '
  const r = require(process.argv[1]); const s = r.stats || {};
  const skipped = [];
  const walk = su => { (su.suites || []).forEach(walk); (su.specs || []).forEach(sp => sp.tests.forEach(t => {
    if (t.status === "skipped") skipped.push(sp.title + ((t.annotations.find(a => a.type === "skip") || {}).description ? " (" + t.annotations.find(a => a.type === "skip").description + ")" : ""));
  })); };
  (r.suites || []).forEach(walk);
  console.log(`${s.expected || 0} passed, ${s.unexpected || 0} failed, ${s.flaky || 0} flaky, ${s.skipped || 0} skipped` + (skipped.length ? `; skipped: ${skipped.join("; ")}` : ""));
' "$ARTIFACTS/results.json" 2>/dev/null || echo "no results.json")"
if [ "$RC" -eq 0 ]; then
  summary PASS "$STATS"
else
  summary FAIL "$STATS; playwright exit $RC; see tests/browser/artifacts/screenshots/*/report.txt"
fi
exit "$RC"
