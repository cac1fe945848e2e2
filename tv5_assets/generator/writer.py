"""CSV writing in the GroupLens dialect: UTF-8 without BOM, CRLF, RFC 4180 minimal quoting."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import polars as pl

CSV_OPTIONS = {"line_terminator": "\r\n", "quote_style": "necessary", "separator": ",", "quote_char": '"'}


def write_csv(path: Path, frames: Iterable[pl.DataFrame]) -> int:
    """Write frames (same columns) one after another into `path`, header once; returns rows.

    Writes to `<name>.part` and renames at the end, so a crashed run leaves no truncated file.
    """
    tmp = path.with_name(path.name + ".part")
    rows = 0
    first = True
    try:
        with open(tmp, "wb") as fh:
            for df in frames:
                df.write_csv(fh, include_header=first, **CSV_OPTIONS)
                first = False
                rows += df.height
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return rows
