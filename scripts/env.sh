#!/usr/bin/env bash
# Shared by demo.sh and test.sh: data folder, Dagster home and sample data.
# Expects TV5_ROOT (set by bootstrap.sh).

# Default data folder: $1 (inside the checkout) when the unprivileged `postgres` user that runs the
# local PostgreSQL can reach it; otherwise (a checkout under a mode-700 home such as /root) a folder
# under /var/tmp, announced, so `tv5 services up` works wherever the repository was cloned.
tv5_default_data_dir() {
  local wanted="$1"
  mkdir -p "$wanted"
  if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$wanted" 2>/dev/null; then
    local fallback="/var/tmp/tv5/$(printf '%s' "$wanted" | sha1sum | cut -c1-12)"
    echo "note: the postgres system user cannot reach $wanted; using TV5_DATA_DIR=$fallback" >&2
    mkdir -p "$fallback"
    wanted="$fallback"
  fi
  printf '%s\n' "$wanted"
}

# Prepare $DAGSTER_HOME with the project's dagster.yaml (pool limits, no telemetry; SQLite storage
# under $DAGSTER_HOME), or the instance file TV5_DAGSTER_YAML names (deploy/dagster-postgres.yaml:
# a shared instance in PostgreSQL, docs/deployment.md).
tv5_dagster_home() {
  export DAGSTER_HOME="${DAGSTER_HOME:-$TV5_DATA_DIR/dagster_home}"
  mkdir -p "$DAGSTER_HOME"
  cp "${TV5_DAGSTER_YAML:-$TV5_ROOT/dagster.yaml}" "$DAGSTER_HOME/dagster.yaml"
}

# Generate a MovieLens-format sample into $1 unless it is already there (same scale and seed).
# The stamp names the generator's version too: a new generator never reuses an old folder.
tv5_sample() {
  local out="$1" scale="$2" seed="$3" stamp="$1/.tv5-sample" version
  version=$(python -c 'from tv5_assets.generator import GENERATOR_VERSION; print(GENERATOR_VERSION)')
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$scale $seed v$version" ]; then
    echo "sample: reusing $out (scale $scale, seed $seed, generator v$version)"
    return
  fi
  rm -rf "$out"
  tv5 sample --scale "$scale" --seed "$seed" --out "$out"
  echo "$scale $seed v$version" > "$stamp"
}
