"""The shared real-export corpus (``../shared/real-data/MANIFEST.tsv``) read by eisfit.

Used by ``tests/test_real_corpus.py`` and runnable on its own:
``python tests/real_corpus_table.py`` prints, per MANIFEST format: files, files read to
the expected number of spectra, files identical to impedance.py / pyimpspec (where that
peer read them ``ok``), files correctly rejected (``n_spectra_guess`` 0), failures, and
the peers' own ``ok`` counts from the MANIFEST.

Comparison rule ("identical"): the same split into spectra, the same frequencies and the
same impedances with the physical sign, rtol 1e-9, point order ignored (points are
compared sorted by frequency).  impedance.py returns one concatenated array per file,
so it is compared with eisfit's spectra concatenated.  Peer points with f <= 0 or NaN
are removed first: eisfit drops such rows (they are not impedance points).
"""

from __future__ import annotations

import re
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from reader_checks import REAL, manifest

import eisfit.io
from eisfit.errors import EisfitError

MANIFEST = REAL / "MANIFEST.tsv"

# Files the MANIFEST counts as holding spectra that eisfit must nevertheless refuse.
MUST_REJECT = {
    "ECSHackWeek__impedance.py/data/exampleDataBioLogic_MissingFreq.mpt": (
        "impedance.py's deliberately broken fixture: the frequency column was removed"
    ),
    "j-zimmermann__ImpedanceFitter/tests/MokuGo_47R_100R_shunt.csv": (
        "a transfer function (FRA gain), not an impedance (MANIFEST README caveat)"
    ),
    "j-zimmermann__ImpedanceFitter/tests/RohdeSchwarz_47R_100R_shunt.csv": (
        "a transfer function (FRA gain), not an impedance (MANIFEST README caveat)"
    ),
}
# Where a peer reads a file differently by design: compare with these spectra only.
PEER_SUBSET = {
    "vyrjana__pyimpspec/tests/drift-corrected-data.dta": (
        (1,),
        "impedance.py returns only the uncorrected curve, eisfit's spectrum 1; spectrum 0"
        " is the drift-corrected one (as in pyimpspec)",
    ),
}


@dataclass(frozen=True)
class Row:
    path: str
    format: str
    expected: int | None  # None: ">= 1"
    impedance_instrument: str | None  # impedance.py's instrument= when it read the file ok
    impedance_ok: bool
    pyimpspec_ok: bool

    @property
    def file(self) -> Path:
        return REAL / self.path


@dataclass(frozen=True)
class Outcome:
    status: str  # "read", "rejected", "count", "error", "crash", "accepted"
    detail: str
    spectra: tuple = ()


def manifest_rows() -> list[Row]:
    """The MANIFEST rows, with the expected count and the peers' verdicts parsed."""
    rows = []
    for record in manifest():
        guess = record["n_spectra_guess"].strip()
        expected = None if guess.startswith(">=") else int(re.match(r"\d+", guess).group())
        peer = record["impedance.py readFile"]
        found = re.match(r"\[instrument=(\w+)\] ok \(", peer)
        if record["path"] in MUST_REJECT:
            expected = 0
        rows.append(
            Row(
                path=record["path"],
                format=record["format"],
                expected=expected,
                impedance_instrument=None
                if not found or found.group(1) == "None"
                else found.group(1),
                impedance_ok=bool(found),
                pyimpspec_ok=record["pyimpspec parse_data"].startswith("ok ("),
            )
        )
    return rows


def outcome(row: Row) -> Outcome:
    """What eisfit.io.read does with the file of ``row``, judged against the MANIFEST."""
    try:
        spectra = eisfit.io.read(row.file)
    except EisfitError as exc:
        if row.expected == 0:
            return Outcome("rejected", f"{type(exc).__name__}: {exc.reason}")
        return Outcome("error", f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a crash is exactly what the corpus test must report
        return Outcome("crash", f"{type(exc).__name__}: {exc}")
    if row.expected == 0:
        return Outcome("accepted", f"read {len(spectra)} spectra from a file with no data")
    if row.expected is not None and len(spectra) != row.expected:
        return Outcome("count", f"{len(spectra)} spectra, MANIFEST expects {row.expected}")
    return Outcome("read", f"{len(spectra)} spectra", tuple(spectra))


def _clean(f: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f, z = np.asarray(f, dtype=float), np.asarray(z, dtype=complex)
    keep = (f > 0) & np.isfinite(f) & np.isfinite(z)
    order = np.argsort(f[keep], kind="stable")
    return f[keep][order], z[keep][order]


def _same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> str:
    (fa, za), (fb, zb) = _clean(*a), _clean(*b)
    if fa.shape != fb.shape:
        return f"{fa.size} points vs the peer's {fb.size}"
    if not np.allclose(fa, fb, rtol=1e-9, atol=0):
        return "frequencies differ"
    if not np.allclose(za, zb, rtol=1e-9, atol=1e-12):
        worst = np.max(np.abs(za - zb) / np.maximum(np.abs(zb), 1e-300))
        return f"impedances differ (worst relative difference {worst:.2g})"
    return ""


def compare_impedance_py(row: Row, spectra: tuple) -> str:
    """ "" when eisfit equals impedance.py's readFile on this file, else why not."""
    from impedance.preprocessing import readFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, z = readFile(str(row.file), instrument=row.impedance_instrument)
    indices = PEER_SUBSET.get(row.path, (range(len(spectra)), ""))[0]
    spectra = tuple(spectra[i] for i in indices)
    ours = (
        np.concatenate([s.frequency_hz for s in spectra]),
        np.concatenate([s.impedance_ohm for s in spectra]),
    )
    return _same(ours, (f, z))


def compare_pyimpspec(row: Row, spectra: tuple) -> str:
    """ "" when eisfit equals pyimpspec's parse_data on this file, else why not."""
    import pyimpspec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pyimpspec.parse_data(row.file)
    if len(theirs) != len(spectra):
        return f"{len(spectra)} spectra vs pyimpspec's {len(theirs)}"
    for index, (ours, data) in enumerate(zip(spectra, theirs, strict=True)):
        why = _same(
            (ours.frequency_hz, ours.impedance_ohm), (data.get_frequencies(), data.get_impedances())
        )
        if why:
            return f"spectrum {index}: {why}"
    return ""


def corpus_table() -> str:
    """The per-format table (a string; ``python tests/real_corpus_table.py`` prints it)."""
    try:
        import pyimpspec  # noqa: F401

        have_pyimpspec = True
    except ImportError:
        have_pyimpspec = False
    stats: dict[str, Counter] = defaultdict(Counter)
    problems: list[str] = []
    for row in manifest_rows():
        key = row.format[:44]
        result = outcome(row)
        counter = stats[key]
        counter["files"] += 1
        counter[result.status] += 1
        counter["ipy_ok"] += row.impedance_ok
        counter["pis_ok"] += row.pyimpspec_ok
        if result.status not in ("read", "rejected"):
            problems.append(f"  {result.status:8} {row.path}: {result.detail}")
            continue
        if row.impedance_ok and result.status == "read":
            why = compare_impedance_py(row, result.spectra)
            counter["ipy_same"] += not why
            if why:
                problems.append(f"  != impedance.py  {row.path}: {why}")
        if row.pyimpspec_ok and result.status == "read" and have_pyimpspec:
            why = compare_pyimpspec(row, result.spectra)
            counter["pis_same"] += not why
            if why:
                problems.append(f"  != pyimpspec     {row.path}: {why}")
    head = f"{'format':44} {'files':>5} {'read':>5} {'=ipy':>9} {'=pis':>9} {'rejected':>8}"
    head += f" {'failed':>6}"
    lines = [head, "-" * len(head)]
    total: Counter = Counter()
    for key, c in sorted(stats.items()):
        total.update(c)
        failed = c["files"] - c["read"] - c["rejected"]
        lines.append(
            f"{key:44} {c['files']:5} {c['read']:5} {c['ipy_same']:>4}/{c['ipy_ok']:<4}"
            f" {c['pis_same']:>4}/{c['pis_ok']:<4} {c['rejected']:8} {failed:6}"
        )
    failed = total["files"] - total["read"] - total["rejected"]
    lines.append(
        f"{'TOTAL':44} {total['files']:5} {total['read']:5}"
        f" {total['ipy_same']:>4}/{total['ipy_ok']:<4} {total['pis_same']:>4}/{total['pis_ok']:<4}"
        f" {total['rejected']:8} {failed:6}"
    )
    lines.append("")
    lines.append(
        "=ipy / =pis: identical to impedance.py / pyimpspec, of the files that peer reads ok"
    )
    lines.append("rejected: files with no impedance data (MANIFEST 0, or MUST_REJECT) refused")
    lines += [f"note: {path}: {note}" for path, (_, note) in PEER_SUBSET.items()]
    lines += [f"must reject: {path}: {why}" for path, why in MUST_REJECT.items()]
    if not have_pyimpspec:
        lines.append("(pyimpspec not installed: no pyimpspec comparison)")
    return "\n".join(lines + (["", "problems:", *problems] if problems else []))


if __name__ == "__main__":
    print(corpus_table())
