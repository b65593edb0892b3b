"""The results table of a batch, streamed: rows go to disk as they finish and the table is
written from there, in its documented order, without ever holding every row.

Why: a row held as a dict costs about 5 kB, so the table of a run of 10^5 spectra used
to hold ~0.5 GB in rows alone, twice over with the row index (issue 15).

`RowSpill`: each finished row is appended to an anonymous temporary file (pickled tuple
of the table's columns; the operating system deletes the file when it is closed or the
process dies, however it dies).  In memory stay only its sort key and file offset
(32 bytes a row) and, per column, one value of each kind the column holds (see below).
Only rows of this run are read back from it, so unpickling reads nothing foreign.

`write_table` reads the rows back in table order (`RowSpill.order`) in blocks of
`BLOCK_ROWS` and writes results.csv (and results.parquet, through a
``pyarrow.parquet.ParquetWriter``, one row group per block) to temporary files that
are moved into place at the end.  The text is exactly what
``pd.DataFrame(all_rows, columns=...).to_csv(index=False)`` gives: pandas infers a
column's dtype from the kinds of values it holds (an int column with one NaN becomes
float and its 3 is written ``3.0``), so every block is built with, prepended and then
dropped, one value of each kind the whole column holds, which gives the block the
dtype of the whole column.  On the way it computes the trends' table digest (row
hashes of `pandas.util.hash_pandas_object` do not depend on other rows), the status
counts, and keeps only the columns asked for (`Table.frame`) and those the trend
analysis reads (`Table.trend_frame`, `eisfit.trends.analysis.TABLE_COLUMNS`).
"""

from __future__ import annotations

import hashlib
import math
import pickle
import tempfile
from array import array
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from .._util import atomic_path
from .csv_cells import neutralise

__all__ = ["BLOCK_ROWS", "RowSpill", "Table", "build_frame", "table_digest_head", "write_table"]

#: rows per block when the table is written: a block costs ~10 MB while it is built
BLOCK_ROWS = 1024


def build_frame(rows: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """The results table of ``rows``: the columns given, in that order (``reused`` as bool,
    ``time_h`` and ``chi2`` as float), exactly as `eisfit.runs.batch` has always built it."""
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["reused"] = frame["reused"].eq(True)
    return frame.astype({"time_h": float, "chi2": float})


def table_digest_head(version: str, schema: int, columns: Sequence[str]) -> bytes:
    """The first bytes hashed by the trends' table digest (`eisfit.runs.batch`)."""
    return f"{version}\n{schema}\n{pd.__version__}\n{list(columns)}\n".encode()


def _kind(value: Any) -> Any:
    """What pandas' dtype inference sees of a value: its type, and for floats NaN or not,
    for ints whether it fits an int64."""
    kind = type(value)
    if isinstance(value, float):
        return kind, math.isnan(value)
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return kind, -(2**63) <= int(value) < 2**63
    return kind


class RowSpill:
    """Rows appended as they finish, kept on disk; see the module docstring.

    ``key``: the row's place in the table, compared as a tuple of floats (smaller first).
    """

    def __init__(self, columns: Sequence[str], directory: Path | None = None) -> None:
        self.columns = tuple(columns)
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - close()
        self._end = 0
        self._offsets = array("q")
        self._keys: list[array] = []
        self._kinds: list[dict[Any, Any]] = [{} for _ in self.columns]

    def __len__(self) -> int:
        return len(self._offsets)

    def add(self, row: dict[str, Any], key: Sequence[float]) -> None:
        """Append ``row`` (a column it lacks is NaN, as pandas fills a missing key)."""
        values = tuple(row.get(c, math.nan) for c in self.columns)
        for kinds, value in zip(self._kinds, values, strict=True):
            kinds.setdefault(_kind(value), value)
        if not self._keys:
            self._keys = [array("d") for _ in key]
        for column, part in zip(self._keys, key, strict=True):
            column.append(float(part))
        self._file.seek(self._end)
        self._file.write(pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL))
        self._offsets.append(self._end)
        self._end = self._file.tell()

    def order(self) -> np.ndarray:
        """Row numbers in table order: by key, then in the order they were added."""
        if not self._offsets:
            return np.zeros(0, dtype=np.int64)
        keys = [np.frombuffer(k, dtype=float) for k in self._keys]
        added = np.arange(len(self._offsets))
        return np.lexsort((added, *reversed(keys)))

    def rows(self, numbers: np.ndarray) -> list[dict[str, Any]]:
        """The rows ``numbers`` (as dicts), read back from the file."""
        out = []
        for n in numbers:
            self._file.seek(self._offsets[int(n)])
            out.append(dict(zip(self.columns, pickle.load(self._file), strict=True)))
        return out

    def representatives(self) -> list[dict[str, Any]]:
        """Rows that hold, per column, one value of each kind the column holds (cycled:
        at least one row, every column filled from its own kinds)."""
        if not self._offsets:
            return []
        samples = [list(k.values()) for k in self._kinds]
        return [
            {c: s[i % len(s)] for c, s in zip(self.columns, samples, strict=True)}
            for i in range(max(len(s) for s in samples))
        ]

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RowSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Table:
    """What `write_table` kept of the table it wrote."""

    frame: pd.DataFrame  # the columns asked for
    trend_frame: pd.DataFrame  # the columns the trend analysis reads
    digest: str  # sha256 of the table as the trends see it (all columns but ``reused``)
    statuses: dict[str, int]  # rows by status
    reused: int  # rows reused from an earlier run

    def __len__(self) -> int:
        return len(self.frame)


def _blocks(spill: RowSpill) -> Iterator[pd.DataFrame]:
    """The table in blocks of `BLOCK_ROWS` rows, each with the dtypes of the whole table."""
    order = spill.order()
    reps = spill.representatives()
    for start in range(0, max(len(order), 1), BLOCK_ROWS):
        rows = spill.rows(order[start : start + BLOCK_ROWS])
        frame = build_frame(reps + rows, spill.columns).iloc[len(reps) :]  # see module doc
        yield frame.reset_index(drop=True)


class _Parquet:
    """results.parquet written a block at a time (one row group each); its schema is that
    of the whole table (from the representative rows), so every block converts alike."""

    def __init__(self, path: Path, reps: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        schema = pa.Schema.from_pandas(reps, preserve_index=False)
        self._writer = pq.ParquetWriter(path, schema)

    def add(self, block: pd.DataFrame) -> None:
        table = self._pa.Table.from_pandas(block, schema=self._writer.schema, preserve_index=False)
        self._writer.write_table(table)
        del table
        # pyarrow's allocator (mimalloc) keeps freed blocks for reuse; each row group is
        # converted once, so give them back: at 10^5 rows they were ~18 MB of the peak
        self._pa.default_memory_pool().release_unused()

    def close(self) -> None:
        self._writer.close()


def _have_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def _outputs(
    out: Path | None, reps: pd.DataFrame, parquet: bool
) -> Iterator[tuple[IO[str] | None, _Parquet | None]]:
    """results.csv (an open text file) and results.parquet, written to temporary files
    that are moved into place when the block ends normally and removed if it raises."""
    if out is None:
        yield None, None
        return
    out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        csv_tmp = stack.enter_context(atomic_path(out / "results.csv"))
        table = None
        if parquet and _have_pyarrow():
            parquet_tmp = stack.enter_context(atomic_path(out / "results.parquet"))
            table = stack.enter_context(closing(_Parquet(parquet_tmp, reps)))
        text = stack.enter_context(csv_tmp.open("w", encoding="utf-8", newline=""))
        yield text, table


def write_table(
    spill: RowSpill,
    out: Path | None,
    *,
    digest_head: bytes,
    columns: Sequence[str] | None,
    trend_columns: Sequence[str],
    parquet: bool = True,
) -> Table:
    """Write results.csv (and, with pyarrow, results.parquet) of the spilled rows to ``out``
    (None: no files) and return what the caller keeps (`Table`); ``columns``: those of
    `Table.frame` (None: all)."""
    keep = list(spill.columns) if columns is None else [c for c in spill.columns if c in columns]
    trend = [c for c in spill.columns if c in trend_columns]
    kept: list[pd.DataFrame] = []
    trends: list[pd.DataFrame] = []
    h = hashlib.sha256(digest_head)
    statuses: dict[str, int] = {}
    reused = 0
    reps = build_frame(spill.representatives(), spill.columns)
    with _outputs(out, reps, parquet) as (text, table):
        for i, block in enumerate(_blocks(spill)):
            if text is not None:
                text.write(neutralise(block).to_csv(index=False, header=i == 0))
            if table is not None:
                table.add(block)
            hashed = block.drop(columns=["reused"])
            h.update(pd.util.hash_pandas_object(hashed, index=False).to_numpy().tobytes())
            for status, count in block["status"].value_counts().items():
                statuses[str(status)] = statuses.get(str(status), 0) + int(count)
            reused += int(block["reused"].sum())
            kept.append(block[keep].copy())  # a copy: a selection would keep the whole
            trends.append(block[trend].copy())  # block alive (pandas copy-on-write)
    return Table(_concat(kept), _concat(trends), h.hexdigest(), statuses, reused)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
