#!/usr/bin/env bash
# The test command (CI runs exactly this): install, lint (ruff), start a private local stack on test ports,
# run the build_everything job over the whole graph on a generated sample (`dg launch --job`), then run
# the pytest suite against the same real engines.
# Extra arguments go to pytest (for example `scripts/test.sh -k movielens`).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$TV5_ROOT"
# Lint and format first: seconds, and a failure here needs no servers to explain it.
echo "test: ruff check . && ruff format --check ."
ruff check .
ruff format --check .
# The documentation site (mkdocs.yml, docs/): a broken link or a page missing from the nav fails. Built
# into a temporary folder, never into the checkout.
echo "test: mkdocs build --strict"
docs_site="$(mktemp -d)"
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --site-dir "$docs_site"   # not --quiet: it hides the warnings strict counts
rm -rf "$docs_site"
. scripts/env.sh
export TV5_DATA_DIR="${TV5_TEST_DATA_DIR:-$(tv5_default_data_dir "$TV5_ROOT/data/test")}"
# One embedding cache for the job and every test module (each test folder has a data folder of its
# own): a movie text is encoded once per run of this script. Tests of the cache itself set their own.
export TV5_EMBEDDING_CACHE_DIR="${TV5_EMBEDDING_CACHE_DIR:-$TV5_DATA_DIR/cache/embeddings}"
# Test ports, so a developer's own `tv5 services up` on the default ports is left alone.
export TV5_LOCAL_POSTGRES_PORT=55433 TV5_LOCAL_REDIS_PORT=56380 TV5_LOCAL_MILVUS_PORT=59531 TV5_LOCAL_NEO4J_PORT=57688
export TV5_REQUIRE_SERVICES=1
unset TV5_POSTGRES_URL TV5_REDIS_URL TV5_MILVUS_URI TV5_NEO4J_URI

trap 'tv5 services down >/dev/null 2>&1 || true' EXIT
tv5 services up

export TV5_MOVIELENS_DIR="$TV5_DATA_DIR/raw/sample"
tv5_sample "$TV5_MOVIELENS_DIR" 0.002 7
tv5_dagster_home
# The build_everything job, as the demo runs it (its own executor; `tv5 checks` reads this run).
# In-process, as the demo runs a generated sample (deploy/run-config/in-process.yaml); the multiprocess
# executor is covered by the tests (`dagster asset materialize`, the executor and fork tests).
echo "test: dg launch --job build_everything --config deploy/run-config/in-process.yaml"
dg launch --job build_everything --config deploy/run-config/in-process.yaml
echo "test: dg launch --job backup_stores"
dg launch --job backup_stores   # so every asset has been materialized (the UI tests require it)
tv5 checks --job build_everything   # fails on any ERROR-severity check failure in that run

# The UI tests (tv5_assets_tests/ui/) read this run's instance through dagster-webserver; here they
# may not skip (no runs, no browser): they fail instead. Screenshots: $TV5_DATA_DIR/ui-screenshots/.
export TV5_REQUIRE_UI_TESTS=1
python -m pytest --durations=15 "$@"
# The UI tests' screenshots (files kept after the run, for a person to look at).
shots=$(find "$TV5_DATA_DIR/ui-screenshots" -name '*.png' 2>/dev/null | sort || true)
if [ -n "$shots" ]; then echo "test: UI screenshots:"; echo "$shots"; fi
