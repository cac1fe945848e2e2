#!/usr/bin/env bash
# The main job on a fresh machine: install, start the local stores, get MovieLens data (the folder
# in TV5_MOVIELENS_DIR if you downloaded a GroupLens release, else a generated sample), and
# run the build_everything job (every asset with its checks). Then `dagster dev` shows the result.
#   TV5_SAMPLE_SCALE (default 0.00375: 610 users, like ml-latest-small) sets the size of the generated sample.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$TV5_ROOT"
. scripts/env.sh
export TV5_DATA_DIR="${TV5_DATA_DIR:-$(tv5_default_data_dir "$TV5_ROOT/data")}"

# A generated sample runs in-process (its ~150 steps are small: a process each costs more than the
# step); a GroupLens release keeps the job's multiprocess executor. TV5_RUN_CONFIG overrides either.
run_config="deploy/run-config/in-process.yaml"
if [ -z "${TV5_MOVIELENS_DIR:-}" ]; then
  if [ -f "$TV5_DATA_DIR/raw/ml-25m/ratings.csv" ]; then
    export TV5_MOVIELENS_DIR="$TV5_DATA_DIR/raw/ml-25m"
    run_config=""
  else
    export TV5_MOVIELENS_DIR="$TV5_DATA_DIR/raw/sample"
    tv5_sample "$TV5_MOVIELENS_DIR" "${TV5_SAMPLE_SCALE:-0.00375}" 42
  fi
else
  run_config=""
fi
run_config="${TV5_RUN_CONFIG-$run_config}"
echo "demo: reading MovieLens from $TV5_MOVIELENS_DIR"
tv5_dagster_home
tv5 services up
# The build_everything job (not an ad-hoc asset run), so the run shows on the Overview and the job's
# page; the same as `dagster job execute -m tv5_assets -j build_everything`.
dg launch --job build_everything ${run_config:+--config "$run_config"}
tv5 checks --job build_everything   # every check result of that run; non-zero on an ERROR-severity failure
cat <<MSG

Done. Browse lineage and check results with:
  export DAGSTER_HOME=$DAGSTER_HOME TV5_DATA_DIR=$TV5_DATA_DIR TV5_MOVIELENS_DIR=$TV5_MOVIELENS_DIR
  $TV5_VENV/bin/dagster dev        # http://127.0.0.1:3000
Stop the local stores with: $TV5_VENV/bin/tv5 services down
MSG
