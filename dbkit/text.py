"""Wording shared by every message and renderer: counts with the right plural, lists of
names, driver messages on one line. One place, so "1 migrations" cannot come back."""

from __future__ import annotations

from collections.abc import Iterable


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 migration``, ``2 migrations``; ``plural_form`` for irregular words."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {word}"


def names(items: Iterable[str], conjunction: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def does_not_exist(items: Iterable[str]) -> str:
    """``users does not exist yet`` / ``users and businesses do not exist yet``."""
    items = list(items)
    return f"{names(items)} {'does' if len(items) == 1 else 'do'} not exist yet"


def one_line(text: str) -> str:
    """A multi-line driver message on one line, its lines joined as sentences
    (``Connection refused. Is the server running ...``)."""
    parts = [part.strip() for part in text.strip().splitlines() if part.strip()]
    joined = ""
    for part in parts:
        if joined and joined[-1] not in ".:;!?,":
            joined += "."
        joined += (" " if joined else "") + part
    return joined
