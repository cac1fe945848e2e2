"""Errors that tell the user what broke and what to do about it."""

from __future__ import annotations


class Tv5Error(Exception):
    """Base class: the message is written for the person running the pipeline."""


class MissingInputError(Tv5Error):
    """A file or folder the pipeline reads is not there."""


class BadInputError(Tv5Error):
    """A row of an input file breaks a rule; the message names the file, line and rule."""

    def __init__(self, path: str, line: int, rule: str, value: object = None, more: int = 0, whole_file: bool = False):
        self.path = str(path)
        self.line = line
        self.rule = rule
        self.value = value
        self.more = more
        self.whole_file = whole_file
        shown = "" if value is None else f" (value: {value!r})"
        extra = f"; {more} more row(s) break rules in this file" if more else ""
        advice = (
            "Fix or replace the file: the whole file is unusable, so `quarantine: true` cannot set it aside."
            if whole_file
            else "Fix the file, or set the asset's `quarantine: true` config to move bad rows to a rejects "
            "table instead."
        )
        super().__init__(f"{self.path}, line {line}: {rule}{shown}{extra}. {advice}")


class ServiceUnavailableError(Tv5Error):
    """A store could not be reached; the message names the store and address, never secrets."""


class StoreSettingsError(ServiceUnavailableError):
    """The store answered but refused our settings (credentials, database name): a retry cannot help."""
