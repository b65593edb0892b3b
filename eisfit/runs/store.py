"""What a batch reads again while it runs, a work slice at a time: spectra and stored rows.

The plan (`eisfit.runs.plan`) keeps no points and no stored rows (issue 15: 10^5 spectra).

`SpectrumStore.spectra` gives the cropped spectra of a run of a cell: from memory when
the plan kept them (`InputFile.spectra`), else from the read cache's entry of the file's
content as planned (`eisfit.runs.cache.cached_spectra` with the sha256 taken when it was
read, so a file changed since gives the spectra planned), else by reading the file
again.  The last `FILES_KEPT` files are kept, since the slices of one cell follow each
other through the same files.  Each spectrum must have the `spectrum_digest` the plan
recorded; otherwise `EisfitError` (the input changed during the run and its cache entry
is gone: the batch stops, saving what it finished, and a re-run plans afresh).  The
files kept are at least `FILES_KEPT`, and more when more slices are out at once
(``files_kept``), so that slices of many chunks in flight do not read their files over
and over.

`StoredRows.row` gives the row a resumed batch may reuse for a spectrum: from the row
index (`eisfit.runs.row_index`) when its entry matches the record, else from the fits/
record when its provenance has the same spectrum and settings digests (`load_record`:
its checksum must match); None otherwise.  The plan asks only `StoredRows.exists` (an
index entry with the right digests is enough there); a row that then fails `row` when
its slice runs is fitted instead.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ..errors import EisfitError
from ..io import read
from ..spectrum import Spectrum
from .cache import cached_spectra
from .plan import Plan
from .records import load_record
from .row_index import RowIndexFile, indexed_row
from .worker import BatchSettings, spectrum_digest

__all__ = ["FILES_KEPT", "SpectrumStore", "StoredRows"]

#: files whose spectra are kept between slices (at least)
FILES_KEPT = 8


class SpectrumStore:
    """The planned spectra, read again on demand (see the module docstring)."""

    def __init__(
        self, plan: Plan, settings: BatchSettings, *, files_kept: int | None = None
    ) -> None:
        self._plan = plan
        self._crop = {"f_min_hz": settings.f_min_hz, "f_max_hz": settings.f_max_hz}
        self._kept: OrderedDict[int, tuple[Spectrum, ...]] = OrderedDict()
        self._size = max(FILES_KEPT, files_kept or 0)

    def _file(self, number: int) -> tuple[Spectrum, ...]:
        source = self._plan.files[number]
        if source.spectra is not None:
            return source.spectra
        if number in self._kept:
            self._kept.move_to_end(number)
            return self._kept[number]
        assert source.path is not None and source.sha256 is not None
        spectra = None
        if source.cache_dir is not None:
            spectra = cached_spectra(source.path, source.sha256, source.cache_dir)
        if spectra is None:
            try:
                spectra = read(source.path)
            except EisfitError as exc:
                raise EisfitError(f"{source.path} changed during the batch: {exc}") from None
        self._kept[number] = tuple(spectra)
        if len(self._kept) > self._size:
            self._kept.popitem(last=False)
        return self._kept[number]

    def spectrum(self, g: int, j: int) -> Spectrum:
        """The ``j``-th spectrum of cell ``g``, cropped as planned."""
        cell = self._plan.cells[g]
        number, position = int(cell.files[j]), int(cell.positions[j])
        spectra = self._file(number)
        resident = self._plan.files[number].spectra is not None
        if position >= len(spectra):
            raise EisfitError(f"{self._plan.files[number].path} changed during the batch: "
                              f"it holds {len(spectra)} spectra now")  # fmt: skip
        cropped = spectra[position].crop(**self._crop)
        if not resident and spectrum_digest(cropped) != cell.digest(j):
            raise EisfitError(f"{self._plan.files[number].path} changed during the batch; "
                              "re-run the same command to resume")  # fmt: skip
        return cropped


class StoredRows:
    """Rows of earlier runs in ``out`` that these settings can reuse (module docstring)."""

    def __init__(self, out: Path | None, settings_digest: str) -> None:
        self._fits = out / "fits" if out is not None else None
        self._index = RowIndexFile(out / ".cache" if out is not None else None)
        self._settings = settings_digest

    def row(self, stem: str, digest: str, settings: str | None = None) -> dict[str, Any] | None:
        """The stored row of fits/``stem``.json if it is of this spectrum and these settings
        (``settings``: a settings digest other than the run's, e.g. a cell's circuit of
        ``--model auto``)."""
        if self._fits is None:
            return None
        wanted = self._settings if settings is None else settings
        path = self._fits / f"{stem}.json"
        row = indexed_row(self._index, stem, path, digest, wanted)
        if row is None:
            data = load_record(path) or {}  # {} when missing, changed on disk or not eisfit's
            prov = data.get("provenance")
            if not isinstance(prov, dict) or (
                prov.get("spectrum_digest"),
                prov.get("settings_digest"),
            ) != (digest, wanted):
                return None
            row = data.get("row")
            if not isinstance(row, dict):
                return None
        return {k: (math.nan if v is None else v) for k, v in row.items()}

    def exists(self, stem: str, digest: str, settings: str | None = None) -> bool:
        """Whether a stored row of this spectrum and these settings is likely there: an index
        entry with both digests (checked in full when its row is read, `row`), else
        a record that passes `row`."""
        wanted = self._settings if settings is None else settings
        entry = self._index.get(stem)
        if isinstance(entry, list) and len(entry) == 6 and entry[:2] == [digest, wanted]:
            return True
        return self.row(stem, digest, settings) is not None

    def close(self) -> None:
        self._index.close()
