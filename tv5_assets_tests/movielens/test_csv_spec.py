"""The generic CSV validator's joining of records whose quoted field spans lines."""

from __future__ import annotations

import polars as pl

from tv5_assets.defs.movielens.csv_spec import join_multiline_records


def _lines(*raw: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"line": list(range(2, 2 + len(raw))), "raw": list(raw)}, schema={"line": pl.Int64, "raw": pl.String}
    )


def test_a_quoted_field_that_spans_lines_is_one_record() -> None:
    joined = join_multiline_records(_lines('1,2,"two', 'lines",100', "3,4,plain,200"), n_fields=4)
    assert joined["line"].to_list() == [2, 4]
    assert joined["raw"].to_list() == ['1,2,"two\nlines",100', "3,4,plain,200"]


def test_a_stray_quote_closed_by_a_later_record_swallows_nothing() -> None:
    # line 2's quote is never closed; line 4 opens a real two-line tag, whose quote would close line 2's
    lines = _lines('1,2,"unclosed,100', "3,4,plain,200", '5,6,"multi', 'line tag",300', "7,8,last,400")
    joined = join_multiline_records(lines, n_fields=4)
    assert joined["line"].to_list() == [2, 3, 4, 6], "one bad line, the rows after it kept"
    assert joined["raw"].to_list() == [
        '1,2,"unclosed,100',
        "3,4,plain,200",
        '5,6,"multi\nline tag",300',
        "7,8,last,400",
    ]


def test_a_join_with_the_wrong_field_count_is_undone() -> None:
    lines = _lines('1,2,"unclosed,100', '3,4,",5,6', "7,8,plain,9")
    assert join_multiline_records(lines, n_fields=4).equals(lines)
    assert join_multiline_records(lines)["line"].to_list() == [2, 4]  # without a count, any well-formed record
