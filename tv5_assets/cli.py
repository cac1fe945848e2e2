"""The `tv5` command: `tv5 sample ...` (MovieLens-format generator) and `tv5 services ...`."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tv5", description="TV5 data platform tools.")
    sub = parser.add_subparsers(dest="command", required=True)

    sample = sub.add_parser("sample", help="Write MovieLens-format CSVs (synthetic, any scale).")
    sample.add_argument("--scale", type=float, default=0.01, help="1.0 reproduces ml-25m's sizes (default 0.01).")
    sample.add_argument("--seed", type=int, default=42)
    sample.add_argument("--out", required=True, help="Folder to write movies.csv, ratings.csv, ... into.")
    sample.add_argument("--no-genome", action="store_true", help="Omit genome files, like ml-latest-small.")

    services = sub.add_parser("services", help="Start, stop or report the local stores.")
    services.add_argument("action", choices=["up", "down", "status"])
    services.add_argument(
        "--only", action="append", default=None, help="Restrict to one service (repeatable): postgres, redis, milvus, neo4j."
    )

    checks = sub.add_parser("checks", help="Print the asset-check results of the latest (or a given) run.")
    checks.add_argument("--run-id", default=None)

    args = parser.parse_args(argv)
    if args.command == "sample":
        from .generator import write_sample

        summary = write_sample(args.out, scale=args.scale, seed=args.seed, genome=not args.no_genome)
        for name, rows in summary.items():
            print(f"{name}: {rows:,} rows")
        return 0
    if args.command == "services":
        from .services import run_action

        return run_action(args.action, only=args.only)
    if args.command == "checks":
        from .run_report import report

        return report(args.run_id)
    return 2


if __name__ == "__main__":
    sys.exit(main())
