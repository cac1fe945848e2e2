#!/usr/bin/env bash
# Install what the platform needs on a fresh Debian machine, and the Python environment.
# Idempotent and fast when everything is there: the virtualenv (with the multi-GB CUDA torch wheel)
# lives outside the clone, in $TV5_VENV (default ~/.cache/tv5/venv), so a new clone reuses it.
# Source it (`. scripts/bootstrap.sh`) to get the venv on PATH.
set -euo pipefail
TV5_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TV5_VENV="${TV5_VENV:-$HOME/.cache/tv5/venv}"
export TV5_ROOT TV5_VENV

apt_packages=()
command -v redis-server >/dev/null 2>&1 || apt_packages+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_packages+=(postgresql)
# Neo4j runs on Java 17; the single-file launcher needs a JDK (javac's compiler module).
command -v javac >/dev/null 2>&1 || apt_packages+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || apt_packages+=(maven)
# The UI tests (tv5_assets_tests/ui/) open the Dagster UI in a headless browser, driven by Playwright.
command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
if ((${#apt_packages[@]})); then
  echo "bootstrap: installing ${apt_packages[*]} from Debian" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  # Debian starts a system redis/postgres on the standard ports; ours use private ports, so the
  # system ones are harmless, but they are not needed.
fi

if [ ! -x "$TV5_VENV/bin/python" ]; then
  echo "bootstrap: creating $TV5_VENV" >&2
  python3 -m venv "$TV5_VENV"
  "$TV5_VENV/bin/pip" install -q --upgrade pip
fi
# The dependencies listed in pyproject.toml, with the dev and openvino extras: a no-op (a few
# seconds) when they are satisfied.
mapfile -t requirements < <("$TV5_VENV/bin/python" - "$TV5_ROOT/pyproject.toml" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
extras = project["optional-dependencies"]
# openvino: the CPU encoder backend `auto` picks where the CPU has bf16 (about 1.9x torch here).
print("\n".join(project["dependencies"] + extras["dev"] + extras["openvino"]))
PY
)
"$TV5_VENV/bin/pip" install -q "${requirements[@]}"
# The `tv5` command, once per environment. The code itself always comes from this checkout through
# PYTHONPATH, so a CI clone never re-points a shared environment at itself (and vice versa).
if [ ! -x "$TV5_VENV/bin/tv5" ]; then
  "$TV5_VENV/bin/pip" install -q --no-deps -e "$TV5_ROOT"
fi
export PYTHONPATH="$TV5_ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$TV5_VENV/bin:$PATH"
