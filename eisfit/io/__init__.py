"""Reading impedance exports of any supported format, and writing CSV and ZView files.

``read(path)`` picks the reader by content: every module of this package that defines a
``FORMATS`` tuple of `FileFormat` records is found (no central list), in alphabetical
order of module name.  Each format's ``sniff`` gets the first `HEAD_BYTES` bytes and the
lower-case file name and says how sure it is (0..1); a matching extension adds
`EXTENSION_BONUS`; the most confident format reads the file (ties: the first found).
Below `THRESHOLD` the file is refused with `UnsupportedFormatError`: its message leads
with the reason of the closest reader (the most confident one above 0, which is asked to
read the file: "line 1: no frequency column among: 'Time', 'Ewe', 'I' (closest reader:
csv)", the line being where that reader stopped), then lists every format tried.
Readers stop at the first line (or bytes) that cannot be their format, so refusing a
large file of something else reads little of it.  ``read(path, format="csv")`` skips the guessing.

Every error is an `EisfitError`: a reader's own `ReadError` passes through, and any
other exception escaping a reader (a reader bug) becomes a `ReadError` naming the file,
the reader and the exception type, so a batch never dies on a bare traceback.
"""

from __future__ import annotations

import glob
import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

from ..errors import EisfitError, ReadError, UnsupportedFormatError
from ..spectrum import Spectrum
from .csv import read_csv, write_csv
from .registry import HEAD_BYTES, FileFormat
from .zview_writer import write_zview

__all__ = [
    "EXTENSION_BONUS",
    "THRESHOLD",
    "FileFormat",
    "detect",
    "expand_sources",
    "formats",
    "iter_read",
    "read",
    "read_csv",
    "read_many",
    "write_csv",
    "write_zview",
]

THRESHOLD = 0.25  # the least confidence (sniff + extension bonus) for a reader to be used
EXTENSION_BONUS = 0.1

Source = str | Path


@cache
def _discover() -> tuple[tuple[FileFormat, ...], tuple[str, ...]]:
    """All formats (module order, then FORMATS order) and the modules that failed to load."""
    found: dict[str, FileFormat] = {}
    broken: list[str] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        try:
            module = importlib.import_module(f"{__name__}.{info.name}")
        except Exception as exc:  # a broken reader module must not disable all the others
            broken.append(f"{info.name} ({type(exc).__name__}: {exc})")
            continue
        for fmt in getattr(module, "FORMATS", ()):
            if isinstance(fmt, FileFormat) and fmt.name not in found:
                found[fmt.name] = fmt
    return tuple(found.values()), tuple(broken)


def formats() -> tuple[FileFormat, ...]:
    """Every registered format, in the order `read` considers them."""
    return _discover()[0]


def detect(path: Source) -> str:
    """The name of the format `read` would use for ``path`` (`UnsupportedFormatError` if none)."""
    return _choose(Path(path))[0].name


def read(path: Source, *, format: str | None = None) -> list[Spectrum]:
    """Every spectrum in the file at ``path``, read by the detected (or named) format."""
    target = Path(path)
    if format is None:
        fmt, _ = _choose(target)
    else:
        _check_file(target)
        by_name = {f.name: f for f in formats()}
        if format not in by_name:
            raise ReadError(path, f"unknown format {format!r}; known: {', '.join(by_name)}")
        fmt = by_name[format]
    try:
        spectra = fmt.read(target)
    except EisfitError:
        raise
    except Exception as exc:  # safety net: a reader bug must not escape as a bare traceback
        message = f"reader {fmt.name!r} failed ({type(exc).__name__}: {exc})"
        raise ReadError(path, message + "; this is a bug in eisfit, please report it") from exc
    if not spectra:
        raise ReadError(path, f"reader {fmt.name!r} found no spectra in the file")
    return spectra


def iter_read(
    sources: Source | Iterable[Source],
    *,
    format: str | None = None,
) -> Iterator[tuple[Path, list[Spectrum] | ReadError]]:
    """``(path, spectra or the ReadError)`` for every file of ``sources``, in order.

    ``sources``: paths, glob patterns (``"runs/*.mpt"``, ``"**"`` recursive) and
    directories (every file below, recursively, sorted; dot files skipped).  A pattern
    matching nothing, a missing path or an empty folder yields a `ReadError` for it, so a
    batch keeps its good results.
    """
    for path in expand_sources(sources):
        if isinstance(path, ReadError):
            yield Path(path.path), path
            continue
        try:
            yield path, read(path, format=format)
        except ReadError as exc:
            yield path, exc


def read_many(
    sources: Source | Iterable[Source],
    *,
    format: str | None = None,
) -> list[Spectrum]:
    """Every spectrum of every file of ``sources`` (see `iter_read`); raises on the first
    bad file."""
    out: list[Spectrum] = []
    for _, result in iter_read(sources, format=format):
        if isinstance(result, ReadError):
            raise result
        out.extend(result)
    return out


def expand_sources(sources: Source | Iterable[Source]) -> Iterator[Path | ReadError]:
    """The files of ``sources`` (paths, folders searched recursively, glob patterns), in
    order; a pattern matching nothing, a missing path or a folder without files (dot
    files and dot folders are skipped) yields a `ReadError` instead."""
    items = [sources] if isinstance(sources, str | Path) else list(sources)
    for item in items:
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p, path))
            if not files:
                yield ReadError(item, "folder holds no files (dot files are skipped)")
            yield from files
        elif path.exists():
            yield path
        elif glob.has_magic(str(item)):
            matches = sorted(Path(p) for p in glob.glob(str(item), recursive=True))
            files = [p for p in matches if p.is_file()]
            if not files:
                yield ReadError(item, "no file matches this pattern")
            yield from files
        else:
            yield ReadError(item, "no such file")


def _hidden(path: Path, root: Path) -> bool:
    """Dot files and files in dot folders (``.DS_Store``, ``.git/``) are skipped in walks."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise ReadError(path, "is a directory, not a file (use read_many for folders)")
    if not path.exists():
        raise ReadError(path, "no such file")


def _choose(path: Path) -> tuple[FileFormat, float]:
    _check_file(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as exc:
        raise ReadError(path, f"cannot read the file: {exc.strerror or exc}") from None
    name = path.name.lower()
    best: tuple[FileFormat, float] | None = None
    for fmt in formats():
        try:
            score = float(fmt.sniff(head, name))
        except Exception:  # a sniffer bug counts as "not mine"; tests check sniffers
            score = 0.0
        score = min(max(score, 0.0), 1.0) if score == score else 0.0  # clamp, NaN -> 0
        if name.endswith(fmt.extensions) and score > 0:
            score += EXTENSION_BONUS
        if best is None or score > best[1]:
            best = (fmt, score)
    if best is None or best[1] < THRESHOLD:
        if not head:
            raise UnsupportedFormatError(path, "empty file")
        known = ", ".join(f"{f.name} ({'/'.join(f.extensions) or 'any'})" for f in formats())
        broken = _discover()[1]
        note = f"; readers that failed to load: {'; '.join(broken)}" if broken else ""
        lead, line = ("", None)
        if best is not None and best[1] > 0:
            lead, line = _closest_reason(path, *best)
        message = f"not a recognised impedance export; tried: {known}{note}"
        raise UnsupportedFormatError(path, f"{lead}; {message}" if lead else message, line=line)
    return best


def _closest_reason(path: Path, fmt: FileFormat, score: float) -> tuple[str, int | None]:
    """Why the closest (most confident, below `THRESHOLD`) reader refuses ``path``: its own
    `ReadError` reason and line; "" when it fails otherwise (a reader bug is no reason to
    show).  The readers stop at the first line that cannot be their format, so asking one
    costs little even for a large file of something else."""
    try:
        fmt.read(path)
    except ReadError as exc:
        return f"{exc.reason} (closest reader: {fmt.name})", exc.line
    except Exception:  # the reader's bug; the plain refusal is said instead
        return "", None
    return (
        f"no reader is confident; the closest, {fmt.name} ({score:.2f} < {THRESHOLD}), "
        f"reads it with read(path, format={fmt.name!r})"
    ), None
