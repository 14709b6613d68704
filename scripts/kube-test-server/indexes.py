"""Completion-index sets in the Job status text form: "1,3-5,7".

Runs of three or more consecutive indexes become `first-last`; a run of exactly two stays `a,b`, as the Job
controller writes status.completedIndexes and status.failedIndexes.
"""

from __future__ import annotations

from collections.abc import Iterable


def format_indexes(indexes: Iterable[int]) -> str:
    """The increasing, deduplicated list of `indexes`; empty input gives the empty string."""
    ordered = sorted(set(indexes))
    parts: list[str] = []
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - start >= 2:
            parts.append(f"{ordered[start]}-{ordered[end]}")
        else:
            parts.extend(str(value) for value in ordered[start : end + 1])
        start = end + 1
    return ",".join(parts)


def parse_indexes(text: str, limit: int | None = None) -> list[int]:
    """The indexes named by `text` ("1,3-5,7"), in increasing order.

    Raises ValueError when an item is malformed, a range is reversed, items are out of order or overlap, or an
    index is not below `limit` (when given).
    """
    if text == "":
        return []
    result: list[int] = []
    for item in text.split(","):
        first_text, dash, last_text = item.partition("-")
        if not first_text.isdigit() or (dash and not last_text.isdigit()):
            raise ValueError(f"cannot parse {item!r}: expected an index or a range first-last")
        first = int(first_text)
        last = int(last_text) if dash else first
        if last < first:
            raise ValueError(f"range {item!r} is reversed")
        if result and first <= result[-1]:
            raise ValueError(f"{item!r} is not after the previous item: items must be increasing")
        if limit is not None and last >= limit:
            raise ValueError(f"{item!r} is out of range: indexes must be less than {limit}")
        result.extend(range(first, last + 1))
    return result
