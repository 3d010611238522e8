"""Reading a file of past runs into a header and rows of raw cells, for :mod:`campaigns.importer`.

CSV (UTF-8, a byte-order mark allowed; comma-separated, or semicolon- or tab-separated when the header holds no
comma) or Parquet, chosen by the file's suffix. Header names are matched without case and surrounding spaces.
Rows whose cells are all empty are skipped (spreadsheets leave them at the end). Whatever the bytes, reading
either returns a :class:`Table` or raises :class:`ImportRefusedError` with one line per problem; it never raises
anything else and never changes a file.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from campaigns.errors import CampaignError

SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
"""File suffix → format."""

MAX_PROBLEMS = 50
"""Problem lines listed in one refusal; past it a last line counts the rest."""


class ImportRefusedError(CampaignError):
    """A file of past runs that cannot be imported: one line per problem (file, row, column, value, allowed range).
    Nothing was imported."""

    def __init__(self, problems: Sequence[str], source: str = "") -> None:
        lines = list(problems)
        if len(lines) > MAX_PROBLEMS:
            lines = [*lines[:MAX_PROBLEMS], f"{source}: ... and {len(lines) - MAX_PROBLEMS} more problems"]
        self.problems = tuple(lines)
        super().__init__("", "", "\n".join(lines), "", source)

    def _format(self) -> str:
        return self.problem

    def with_source(self, source: str) -> ImportRefusedError:
        return self

    def __reduce__(self):
        return (type(self), (self.problems, self.source))


@dataclass(frozen=True)
class Row:
    """One data row: its number (1 = the first row under the header), where it is (for messages), its cells."""

    number: int
    where: str
    cells: tuple[Any, ...]


@dataclass(frozen=True)
class Table:
    """A file's header (lower-case, stripped) and its non-empty data rows."""

    source: str
    header: tuple[str, ...]
    rows: tuple[Row, ...]


def read_table(path: str | Path, source: str | None = None) -> Table:
    """The header and rows of a CSV or Parquet file of past runs (:class:`ImportRefusedError` if unreadable)."""
    path = Path(path)
    source = str(path) if source is None else source
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ImportRefusedError([f"{source}: file suffix {path.suffix or '(none)'!r} is not a file of past runs "
                                  f"(allowed: {' | '.join(SUFFIXES)})"], source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportRefusedError([f"{source}: cannot be read ({exc.strerror or exc})"], source) from None
    if not data.strip():
        raise ImportRefusedError([f"{source}: empty file: no header and no runs (allowed: a header row naming the "
                                  "columns, then one row per run)"], source)
    table = _csv(data, source) if kind == "csv" else _parquet(data, source)
    if not table.rows:
        raise ImportRefusedError([f"{source}: no runs: the file has a header and no rows under it"], source)
    return table


def _csv(data: bytes, source: str) -> Table:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefusedError([f"{source}: not a UTF-8 text (CSV) file: byte {exc.start} is "
                                  f"{data[exc.start:exc.start + 1]!r} (allowed: CSV text in UTF-8, or a .parquet "
                                  "file)"], source) from None
    if "\x00" in text:
        raise ImportRefusedError([f"{source}: not a text (CSV) file: it holds NUL bytes, line "
                                  f"{text[:text.index(chr(0))].count(chr(10)) + 1}"], source)
    first = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = "," if "," in first or not ({";", "\t"} & set(first)) else (";" if ";" in first else "\t")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: tuple[str, ...] | None = None
    rows: list[Row] = []
    problems: list[str] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = tuple(c.strip().lower() for c in cells)
                continue
            number = len(rows) + len(problems) + 1
            where = f"{source}: row {number} (line {reader.line_num})"
            if len(cells) != len(header):
                problems.append(f"{where}: {len(cells)} cells, the header has {len(header)} columns")
                continue
            rows.append(Row(number, where, tuple(cells)))
    except csv.Error as exc:
        raise ImportRefusedError([f"{source}: line {reader.line_num}: not readable as CSV ({exc})"], source) from None
    if problems:
        raise ImportRefusedError(problems, source)
    return Table(source, header or (), tuple(rows))


def _parquet(data: bytes, source: str) -> Table:
    import pandas as pd

    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001  pyarrow raises an open set of types on a damaged or foreign file
        first = " ".join(str(exc).split())[:200]
        raise ImportRefusedError([f"{source}: not a readable Parquet file ({type(exc).__name__}: {first})"],
                                 source) from None
    header = tuple(str(c).strip().lower() for c in frame.columns)
    rows = []
    for i, values in enumerate(frame.itertuples(index=False, name=None)):
        cells = tuple(_plain(v) for v in values)
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue
        rows.append(Row(len(rows) + 1, f"{source}: row {i + 1}", cells))
    return Table(source, header, tuple(rows))


def _plain(value: Any) -> Any:
    """A Parquet cell as a plain Python value: None for missing, datetime for a timestamp, float/int/bool/str."""
    import numpy as np
    import pandas as pd

    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, datetime | date | str | bool):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(float(value)) else float(value)
    return str(value)
