"""How long loading the code location takes: `from tv5_assets.definitions import defs; defs()` in fresh
interpreters, the way `dagster dev`, `dg`, the daemon and every run worker start.

    python benchmarks/import_time.py [--runs 7]

Prints, over `--runs` fresh interpreters, the median and min of: the whole process (interpreter start
included; wall and CPU), the import of tv5_assets.definitions, and the defs() call; then which of the
heavy libraries the steps use (executor_settings.STEP_LIBRARIES) the load pulled in (none expected) and
the slowest top-level packages from `python -X importtime` of one more run. To compare with another
checkout, run it with that checkout first on PYTHONPATH. Target: at most 2 s. The
machine is shared: read the CPU figure (user + sys of the child) beside the wall figure, and the load
average printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from tv5_assets import definitions
t1 = time.perf_counter()
definitions.defs()
t2 = time.perf_counter()
try:  # after the timing: definitions imported it already
    from tv5_assets import executor_settings as listing
except ImportError:  # another (older) checkout: the lists were in definitions.py
    listing = definitions
names = getattr(listing, "STEP_LIBRARIES", ("neo4j", "pymilvus", "redis", "psycopg", "sqlalchemy", "torch"))
loaded = sorted(name for name in names if name in sys.modules)
print(json.dumps({"import_s": t1 - t0, "defs_s": t2 - t1, "heavy_loaded": loaded}))
"""
IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)")


def one_run() -> dict:
    """One fresh interpreter: its own figures plus wall and CPU seconds of the whole process."""
    before = os.times()
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - started
    after = os.times()
    figures = json.loads(out.strip().splitlines()[-1])
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {**figures, "process_wall_s": wall, "process_cpu_s": cpu}


def by_package() -> Counter:
    """Self import time (seconds) per top-level package, from `python -X importtime`."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "from tv5_assets.definitions import defs; defs()"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    totals: Counter = Counter()
    for match in IMPORTTIME.finditer(err):
        totals[match.group(2).split(".")[0]] += int(match.group(1)) / 1e6
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="Fresh interpreters to time (median reported).")
    args = parser.parse_args()
    runs = [one_run() for _ in range(args.runs)]
    print(f"code-location load, {args.runs} fresh interpreters, load average {os.getloadavg()[0]:.2f}:")
    for key, label in [
        ("process_wall_s", "whole process, wall"),
        ("process_cpu_s", "whole process, CPU (user+sys)"),
        ("import_s", "import tv5_assets.definitions"),
        ("defs_s", "defs() call"),
    ]:
        values = [r[key] for r in runs]
        print(f"  {label:32s} median {statistics.median(values):6.2f} s   min {min(values):6.2f} s")
    heavy = sorted({name for r in runs for name in r["heavy_loaded"]})
    print(f"  heavy step libraries loaded: {', '.join(heavy) if heavy else 'none'}")
    print("slowest packages (self import time, one run):")
    for name, seconds in by_package().most_common(8):
        print(f"  {name:24s} {seconds:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
