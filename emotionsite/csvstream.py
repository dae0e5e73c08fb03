"""CSV lines for streamed downloads (the session exports, the project log, study exports): each row written
as it comes, text cells that a spreadsheet would read as a formula guarded with a leading quote."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a cell starting so as a formula


def safe_cell(value: Any) -> Any:
    """Text cells that a spreadsheet would read as a formula get a leading single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(columns: list[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The header, then one line per row (``None``: an empty cell), produced one at a time."""
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([safe_cell(row[c]) if row[c] is not None else "" for c in columns])
