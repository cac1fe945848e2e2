"""The `tv5` command: `tv5 sample ...` (MovieLens-format generator), `tv5 services ...`, `tv5 checks`,
`tv5 bench` (materialize the whole graph and report time, rows/s and memory per asset),
`tv5 backup` / `tv5 restore` (a snapshot of each store, and the way back), `tv5 docs lineage`
(README's lineage diagram, generated from the definitions) and `tv5 compare` (how close one
MovieLens-format folder is to another: fidelity.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .registry import STORE_KEYS


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {"sample": _sample, "services": _services, "checks": _checks, "bench": _bench}
    commands |= {"backup": _backup, "restore": _restore}
    commands |= {"docs": _docs, "compare": _compare}
    return commands[args.command](args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tv5", description="TV5 data platform tools.")
    sub = parser.add_subparsers(dest="command", required=True)

    sample = sub.add_parser("sample", help="Write MovieLens-format CSVs (synthetic, any scale).")
    sample.add_argument(
        "--scale",
        type=float,
        default=0.01,
        help="A sample of round(S x 162,541) users from a generated ml-25m-sized world; 1.0 reproduces "
        "ml-25m's row counts exactly (default 0.01; docs/generated-data.md).",
    )
    sample.add_argument("--seed", type=int, default=42)
    sample.add_argument("--out", required=True, help="Folder to write movies.csv, ratings.csv, ... into.")
    sample.add_argument("--no-genome", action="store_true", help="Omit genome files, like ml-latest-small.")

    services = sub.add_parser("services", help="Start, stop or report the local stores.")
    services.add_argument("action", choices=["up", "down", "status"])
    services.add_argument(
        "--only",
        action="append",
        default=None,
        help=f"Restrict to one service (repeatable): {', '.join(STORE_KEYS)}.",
    )
    services.add_argument(
        "--truncate-cut-log",
        action="store_true",
        help="With `up --only neo4j`, once: recovery drops an unreadable end of Neo4j's transaction log (a "
        "write a full disk cut short, never applied) instead of refusing to start the database.",
    )

    checks = sub.add_parser("checks", help="Print the asset-check results of the latest finished (or a given) run.")
    checks.add_argument("--run-id", default=None)
    checks.add_argument("--job", default=None, help="The latest finished run of this job (e.g. build_everything).")

    _add_bench_parser(sub)
    _add_backup_parsers(sub)
    _add_docs_parser(sub)
    _add_compare_parser(sub)
    return parser


def _add_compare_parser(sub: argparse._SubParsersAction) -> None:
    compare = sub.add_parser(
        "compare", help="Fidelity report: statistics of two MovieLens-format folders side by side (B/A)."
    )
    compare.add_argument("dir_a", type=Path, help="Reference folder (e.g. a GroupLens download).")
    compare.add_argument("dir_b", type=Path, help="Folder to compare (e.g. `tv5 sample` output).")
    compare.add_argument("--json", type=Path, default=None, help="Also write the report as JSON to this file.")
    compare.add_argument("--users", type=int, default=300, help="Users sampled for the hold-out (default 300).")
    compare.add_argument("--seed", type=int, default=11, help="Seed of the user pairs and the hold-out sample.")
    compare.add_argument("--explain", action="store_true", help="Print each statistic's definition after the table.")


def _add_docs_parser(sub: argparse._SubParsersAction) -> None:
    docs = sub.add_parser("docs", help="Documentation generated from the definitions.")
    docs.add_argument(
        "what", choices=["lineage"], help="lineage: the Mermaid lineage diagram (every asset: docs/lineage.md)."
    )
    docs.add_argument(
        "--write",
        action="store_true",
        help="Replace the diagrams in README.md (the groups) and docs/lineage.md (every asset) instead of printing.",
    )


def _add_backup_parsers(sub: argparse._SubParsersAction) -> None:
    only = {"action": "append", "default": None, "choices": list(STORE_KEYS)}
    backup = sub.add_parser("backup", help="Snapshot each store into a folder with a manifest.json.")
    backup.add_argument("--only", help="Restrict to one store (repeatable).", **only)
    backup.add_argument(
        "--to", type=Path, default=None, help="Folder to create (default $TV5_DATA_DIR/backups/<UTC time>)."
    )
    restore = sub.add_parser("restore", help="Restore stores from a `tv5 backup` folder (replaces their data).")
    restore.add_argument("--from", dest="source", type=Path, required=True, help="The backup folder.")
    restore.add_argument("--only", help="Restrict to one store (repeatable).", **only)


def _add_bench_parser(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser(
        "bench", help="Materialize the graph on generated data; print time, rows/s and peak memory per asset."
    )
    bench.add_argument("--scale", type=float, required=True, help="Scale of the generated data (1.0: ml-25m's sizes).")
    bench.add_argument("--seed", type=int, default=42)
    bench.add_argument(
        "--movielens-dir", type=Path, default=None, help="Use this GroupLens folder instead of generating."
    )
    bench.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON report (default $TV5_DATA_DIR/bench/bench-<scale>-<UTC time>.json).",
    )
    bench.add_argument(
        "--baseline-scale", type=float, default=0.01, help="Scale of the naive baseline's data (default 0.01)."
    )
    bench.add_argument("--no-baseline", action="store_true", help="Skip the naive row-by-row baseline.")
    bench.add_argument(
        "--no-engine-limits", action="store_true", help="Skip timing each heavy stage's engine alone after the run."
    )
    bench.add_argument(
        "--job",
        default="build_everything",
        help="The job to run (default build_everything: the whole graph but the backups).",
    )
    bench.add_argument("--select", default=None, help="An asset selection to materialize instead of the job ('*').")


def _sample(args: argparse.Namespace) -> int:
    from .generator import write_sample

    summary = write_sample(args.out, scale=args.scale, seed=args.seed, genome=not args.no_genome)
    for name, rows in summary.items():
        print(f"{name}: {rows:,} rows")
    return 0


def _services(args: argparse.Namespace) -> int:
    from .services import run_action

    return run_action(args.action, only=args.only, truncate_cut_log=args.truncate_cut_log)


def _checks(args: argparse.Namespace) -> int:
    from .run_report import report

    return report(args.run_id, job=args.job)


def _bench(args: argparse.Namespace) -> int:
    from .bench import BenchOptions, run_bench

    return run_bench(
        BenchOptions(
            scale=args.scale,
            seed=args.seed,
            movielens_dir=args.movielens_dir,
            out=args.out,
            baseline_scale=args.baseline_scale,
            baseline=not args.no_baseline,
            select=args.select,
            job=args.job,
            engine_limits=not args.no_engine_limits,
        )
    )


def _backup(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from .backups import backup, backups_dir, env_resources

    target = args.to or backups_dir() / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    backup(env_resources(), target.absolute(), only=args.only)
    print(f"backup written to {target}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from .backups import env_resources, read_manifest, restore

    restored = restore(env_resources(), args.source.absolute(), only=args.only)
    wanted = {store: entry["counts"] for store, entry in read_manifest(args.source)["stores"].items()}
    return 0 if all(counts == wanted[store] for store, counts in restored.items()) else 1


def _docs(args: argparse.Namespace) -> int:
    from . import lineage

    if not args.write:
        print(lineage.current_diagram(), end="")
        return 0
    for page, changed in lineage.write_all().items():
        print(f"{page}: lineage diagram {'updated' if changed else 'already current'}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from .errors import MissingInputError
    from .fidelity import compare, write_json

    try:
        comparison = compare(args.dir_a, args.dir_b, users=args.users, seed=args.seed)
    except MissingInputError as error:
        print(f"tv5 compare: {error}", file=sys.stderr)
        return 2
    print(comparison.table())
    if args.explain:
        print()
        print(comparison.explain())
    if args.json:
        print(f"JSON report written to {write_json(comparison, args.json)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
