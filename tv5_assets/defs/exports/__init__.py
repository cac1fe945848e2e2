"""Group `exports`: the plan's JSONL files and Parquet tables for analytics, under $TV5_DATA_DIR.

Assets in assets.py, checks in checks.py; the record shapes (layouts.py), the streaming atomic
writers (writers.py) and what the checks verify (verify.py) are plain modules, testable without Dagster.
"""
