# Sourced by the scripts with the extras they need: `source scripts/_venv.sh router,server,otel`
# (scripts/travel: the runtime only) or `source scripts/_venv.sh dev` (scripts/test: the
# checks and the test suite too). Makes sure .venv exists with the project installed with
# those extras, then activates it.
#
# Each extras set has its own stamp (.venv/.plano-installed-EXTRAS), so `travel` then `test`
# installs the dev tools on top, and `test` then `travel` installs nothing: ".[dev]" holds
# every other extra. A stamp older than pyproject.toml means install again.
set -euo pipefail
EXTRAS="${1:?usage: source scripts/_venv.sh EXTRAS (e.g. router,server,otel or dev)}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"

_plano_fresh() {
  [ -f ".venv/.plano-installed-$1" ] && [ ! pyproject.toml -nt ".venv/.plano-installed-$1" ]
}

if ! _plano_fresh "$EXTRAS" && ! _plano_fresh dev; then
  if [ ! -x .venv/bin/python ]; then
    if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$0 needs Python 3.11 or newer as '$PY' (set PYTHON=python3.11)." >&2
      exit 1
    fi
    if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
      echo "'$PY' cannot create virtual environments: install its venv module" \
        "(on Debian/Ubuntu: apt install python3-venv)." >&2
      exit 1
    fi
    "$PY" -m venv .venv
  fi
  echo "Setting up .venv with plano-asgi[$EXTRAS] (once; see README.md for how long)..." >&2
  # --no-compile: Python compiles what it imports on first use instead of every module of
  # every dependency now (a third of the environment's size, mostly never imported).
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-compile \
    -e ".[$EXTRAS]"
  touch ".venv/.plano-installed-$EXTRAS"
fi
unset -f _plano_fresh
# shellcheck disable=SC1091
source .venv/bin/activate
