#!/usr/bin/env bash
# Shared by demo.sh and test.sh: data folder, Dagster home and sample data.
# Expects TV5_ROOT (set by bootstrap.sh).

# Prepare $DAGSTER_HOME with the project's dagster.yaml (pool limits, no telemetry).
tv5_dagster_home() {
  export DAGSTER_HOME="${DAGSTER_HOME:-$TV5_DATA_DIR/dagster_home}"
  mkdir -p "$DAGSTER_HOME"
  cp "$TV5_ROOT/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"
}

# Generate a MovieLens-format sample into $1 unless it is already there (same scale and seed).
tv5_sample() {
  local out="$1" scale="$2" seed="$3" stamp="$1/.tv5-sample"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$scale $seed" ]; then
    echo "sample: reusing $out (scale $scale, seed $seed)"
    return
  fi
  rm -rf "$out"
  tv5 sample --scale "$scale" --seed "$seed" --out "$out"
  echo "$scale $seed" > "$stamp"
}
