"""The data dictionary: every asset and every store object, rendered as one Markdown file.

Plain functions, testable without Dagster: each part (`asset_part`, `milvus_part`, `neo4j_part`,
`postgres_part`, `redis_part`) returns a `Part`: Markdown sections under `### ` headings. What
the definitions promise (asset columns, collection fields, labels, relationship types, constraints,
tables, columns, key patterns) is listed by `stores.required_terms`, and `missing_terms` finds each one
that the text does not show in backticks inside its own section, so a dropped column is caught
even when its name appears elsewhere in the file.

Store parts combine the definitions (collections.py, model.py, schema.py, cache.py) with what the
live server reports (fields and index, labels and properties, row estimates, key counts); a store
object the server has but the definitions do not (an old label) is listed as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

HEADING = re.compile(r"^### (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    meaning: str = ""


@dataclass(frozen=True)
class AssetEntry:
    key: str
    group: str
    description: str
    kinds: tuple[str, ...] = ()
    columns: tuple[Column, ...] | None = None  # None: no column schema declared
    row_count: int | None = None


@dataclass
class Part:
    """A chapter of the dictionary: an intro, then `### heading` sections."""

    title: str
    intro: str = ""
    sections: dict[str, list[str]] = field(default_factory=dict)

    def render(self) -> str:
        out = [f"## {self.title}", ""]
        if self.intro:
            out += [self.intro, ""]
        for heading, lines in self.sections.items():
            out += [f"### {heading}", "", *lines, ""]
        return "\n".join(out)


def cell(text: object) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text if text is not None else "").split()).replace("|", "\\|")


def table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def code(name: object) -> str:
    return f"`{name}`"


def count(value: int | None) -> str:
    return "unknown (not materialized yet)" if value is None else f"{value:,}"


# ------------------------------------------------------------------------------------ assets
def asset_heading(key: str) -> str:
    return f"asset {code(key)}"


def asset_part(entries: Iterable[AssetEntry]) -> Part:
    part = Part(
        "Assets",
        "Every asset of the code location, by group. Row counts come from each asset's latest "
        "materialization (`dagster/row_count`).",
    )
    for entry in sorted(entries, key=lambda e: (e.group, e.key)):
        lines = [
            f"Group {code(entry.group)}; kinds {', '.join(sorted(entry.kinds)) or '-'}; "
            f"rows: {count(entry.row_count)}.",
            "",
            cell(entry.description or "(no description)"),
            "",
        ]
        if entry.columns is None:
            lines.append("No column schema declared (the output is a store object or files described below).")
        else:
            lines += table(["column", "type", "meaning"], ([code(c.name), c.type, c.meaning] for c in entry.columns))
        part.sections[asset_heading(entry.key)] = lines
    return part


# -------------------------------------------------------------------------------------- checks
def sections(text: str) -> dict[str, str]:
    """`### heading` -> the text up to the next heading (of any level)."""
    out: dict[str, str] = {}
    marks = list(HEADING.finditer(text))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = text[mark.end() : end]
        out[mark.group(1).strip()] = re.split(r"^## ", body, flags=re.MULTILINE)[0]
    return out


def missing_terms(text: str, required: dict[str, list[str]]) -> list[str]:
    """Each required section absent, and each term not shown as `term` inside its section."""
    found = sections(text)
    problems: list[str] = []
    for heading, terms in required.items():
        body = found.get(heading)
        if body is None:
            problems.append(f"section '{heading}' is missing")
            continue
        problems += [f"{heading}: {code(term)} is missing" for term in terms if code(term) not in body]
    return problems


def render(parts: Iterable[Part], header: str) -> str:
    return "\n".join(["# Data dictionary", "", header, "", *(p.render() for p in parts)]).rstrip() + "\n"
