"""The batch's speed-ups change nothing they return (issue 15).

* lin-KK: the cached RC blocks and tau grids, the statistics computed on first use, the
  compiled certification of M values (`eisfit.kk.screen_kernel`) and the reference's
  decisions from compiled estimates (`eisfit.kk.reference_kernel`) give the same M, mu,
  residuals and verdict, number for number, as the plain numpy path;
* fits/ records: the workers' canonical JSON parts (`eisfit.runs.records.CanonicalJSON`)
  give the same file text as the record's dicts, and the file is the canonical JSON the
  checksum is taken of.
"""

from __future__ import annotations

import json
import math
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from eisfit._util import json_ready
from eisfit.kk import compiled as kk_compiled
from eisfit.kk import design as kk_design
from eisfit.kk import model as kk_model
from eisfit.kk import noise as kk_noise
from eisfit.kk import reference as kk_reference
from eisfit.kk.linkk import kk_check
from eisfit.kk.noise import structure, structure_from_sums
from eisfit.notation.model import compile_circuit
from eisfit.runs.records import (
    CanonicalJSON,
    canonical_json,
    content_checksum,
    load_record,
    record_text,
)
from eisfit.runs.worker import BatchSettings, iter_group, pack
from eisfit.screening.siblings import sibling_bands
from eisfit.spectrum import Spectrum
from eisfit.synthetic import random_cell, simulate

numba = pytest.importorskip("numba")  # the compiled twin needs it (the fast extra)


def _spectra(count: int, seed: int) -> list[Spectrum]:
    """Noisy random 2- and 3-arc cells on one 60-point grid, as a run's spectra share it."""
    rng = np.random.default_rng(seed)
    f = np.logspace(6.5, -1, 60)
    out = []
    for k in range(count):
        cell = random_cell(rng, 2 + k % 2)
        noise = (0.001, 0.005, 0.02)[k % 3]
        out.append(simulate(cell.circuit, cell.values, f, noise=noise, rng=rng))
    return out


def _kk_numbers(spectrum: Spectrum) -> dict:
    result = kk_check(spectrum)
    out = result.to_dict(residuals=True)
    out["n_rc"] = result.n_rc
    return out


def _numpy_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kk_compiled, "certification", lambda: None)
    monkeypatch.setattr(kk_compiled, "projection", lambda: None)


def test_the_compiled_certification_is_the_numpy_one() -> None:
    kernel = kk_compiled.certification()
    assert kernel is not None, "numba is installed: the compiled twin must load"
    calls, skipped = 0, 0
    for spectrum in _spectra(12, seed=1):
        omega, z = spectrum.angular_frequency, spectrum.impedance_ohm
        mod = np.abs(z)
        weight = np.concatenate([1 / mod, 1 / mod])
        b = np.concatenate([z.real, z.imag]) * weight
        fixed = kk_model.fixed_columns(omega, mod, ["R0", "L", "C"])
        cap = kk_model.default_cap(omega)
        for m in (2, 5, 11, 18, 30):
            args = (omega, weight, b, fixed, m, cap, 0.85)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(kk_compiled, "certification", lambda: None)
                want = kk_model.skip_certain(*args)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(kk_compiled, "certification", lambda: kernel)
                got = kk_model.skip_certain(*args)
            assert got == want, (m, cap)
            calls, skipped = calls + 1, skipped + (got > m)
    assert calls == 60
    assert 10 <= skipped < 60  # M values were certified, and some were not


def test_kk_check_is_the_same_with_the_compiled_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    spectra = _spectra(9, seed=2)
    assert kk_compiled.prepare()
    estimated = []
    decision = kk_reference._decision

    def counted(*args: object, **kwargs: bool) -> bool | None:
        estimated.append(kwargs["estimated"])
        return decision(*args, **kwargs)

    monkeypatch.setattr(kk_reference, "_decision", counted)
    compiled = [_kk_numbers(s) for s in spectra]
    assert any(estimated)  # the reference decided from the compiled estimates
    _numpy_only(monkeypatch)
    estimated.clear()
    plain = [_kk_numbers(s) for s in spectra]
    assert estimated and not any(estimated)
    assert compiled == plain  # every number, the residuals included, bit for bit


def test_the_compiled_projection_estimates_the_numpy_one() -> None:
    projection = kk_compiled.projection()
    assert projection is not None
    for spectrum in _spectra(6, seed=6):
        omega, z = spectrum.angular_frequency, spectrum.impedance_ohm
        mod = np.abs(z)
        weight = np.concatenate([1 / mod, 1 / mod])
        b = np.concatenate([z.real, z.imag]) * weight
        fixed = kk_model.fixed_columns(omega, mod, ["R0", "L", "C"])
        order = np.argsort(omega)
        design = kk_design.Design(omega, weight, b, fixed, np.empty(0), order)
        for m in (3, 12, kk_model.dense_m(omega)):
            exact = kk_design.project(design.with_columns(fixed, m))
            sums = projection(omega, weight, b, fixed, order, m)
            rss = float(exact.residual @ exact.residual)
            assert abs(sums[0] - rss) <= 1e-3 * kk_reference.RSS_SLACK * rss
            stats = structure_from_sums(omega.size, 3 + m, *sums)
            for got, want in zip(stats, exact.stats, strict=True):
                assert abs(got - want) <= 1e-3 * kk_reference.Z_SLACK * (1 + abs(want))


def test_close_calls_are_left_to_the_exact_fits() -> None:
    """An estimated F value or structure score within the slack of its threshold decides
    nothing; exact numbers always decide; clear cases decide as the exact rule."""
    from scipy.special import fdtri

    p, p_ref, rows = 20, 40, 120
    rss_ref, dof_ref = 1.0, rows - p_ref
    critical = float(fdtri(p_ref - p, dof_ref, 1 - kk_reference.ALPHA_RESOLVED))
    at_threshold = rss_ref + critical * (p_ref - p) * rss_ref / dof_ref
    noise: tuple[float, float, float] = (0.005, 0.005, 0.0)
    call = partial(kk_reference._decision, p, p_ref, rows)
    for estimated in (True, False):
        assert call(10 * at_threshold, lambda: noise, rss_ref, lambda: noise,
                    estimated=estimated) is False  # fmt: skip
        assert call(rss_ref, lambda: noise, rss_ref, lambda: noise,
                    estimated=estimated) is True  # fmt: skip
    assert call(at_threshold, lambda: noise, rss_ref, lambda: noise, estimated=True) is None
    assert call(at_threshold, lambda: noise, rss_ref, lambda: noise, estimated=False) in (
        True, False,
    )  # fmt: skip
    structured = (0.02, 0.005, kk_noise.Z_STRUCTURE)  # z exactly on the threshold
    assert call(rss_ref, lambda: structured, rss_ref, lambda: noise, estimated=True) is None
    assert call(rss_ref, lambda: structured, rss_ref, lambda: noise, estimated=False) is True


def test_kk_check_is_the_same_with_cold_and_warm_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    _numpy_only(monkeypatch)
    spectra = _spectra(6, seed=3)
    kk_design._cached_kernel.cache_clear()
    kk_design._tau_grid.cache_clear()
    cold = [_kk_numbers(s) for s in spectra]
    assert kk_design._cached_kernel.cache_info().hits > 0  # the M search reuses blocks
    warm = [_kk_numbers(s) for s in spectra]
    assert cold == warm


def test_cached_blocks_are_read_only_and_equal_to_fresh_ones() -> None:
    omega = 2 * np.pi * np.logspace(5, -1, 40)
    tau = kk_design.tau_grid(omega, 12)
    assert not tau.flags.writeable
    re, im = kk_design.rc_kernel(omega, tau)
    assert not re.flags.writeable and not im.flags.writeable
    x = np.outer(omega, tau)
    np.testing.assert_array_equal(re, 1.0 / (1.0 + x * x))
    np.testing.assert_array_equal(im, -x * (1.0 / (1.0 + x * x)))
    with pytest.raises(ValueError):
        re[0, 0] = 0.0


def test_statistics_are_computed_when_asked_and_match_the_dense_formula() -> None:
    spectrum = _spectra(1, seed=4)[0]
    omega, z = spectrum.angular_frequency, spectrum.impedance_ohm
    mod = np.abs(z)
    weight = np.concatenate([1 / mod, 1 / mod])
    b = np.concatenate([z.real, z.imag]) * weight
    fixed = kk_model.fixed_columns(omega, mod, ["R0", "L", "C"])
    order = np.argsort(omega)
    design = kk_design.Design(omega, weight, b, fixed, kk_design.tau_grid(omega, 15), order)
    solution = kk_design.solve(design)
    assert "stats" not in solution.cache  # not computed by the solve itself
    a = np.hstack([fixed, kk_model.rc_columns(omega, 15) * weight[:, None]])
    dense = kk_model.solve(a, b)
    want = structure(order, dense.residual, dense.basis)
    np.testing.assert_allclose(solution.stats, want, rtol=1e-9)
    projection = kk_design.project(design)
    assert "stats" not in projection.cache
    np.testing.assert_allclose(projection.stats, want, rtol=1e-9)


def _record() -> dict:
    return {
        "fit": {"status": "ok", "values": [1.5, math.nan, 2e-300], "kk": {"mu": 0.8}},
        "analysis": {"contributions": [{"role": "bulk", "elements": ("R0",)}]},
        "row": {"source": "a \u00e9 \"b\".mpt", "R0.R": 110.0, "chi2": math.inf},
        "spectrum": {"frequency_hz": [1e6, 0.1], "z_real_ohm": [1.0, 2.0]},
        "provenance": {"eisfit_version": "0"},
    }


def test_canonical_parts_give_the_same_file_text() -> None:
    plain = json_ready(_record())
    parts = {k: canonical_json(v) if k in ("fit", "analysis", "spectrum") else v
             for k, v in _record().items()}  # fmt: skip
    assert all(isinstance(parts[k], CanonicalJSON) for k in ("fit", "analysis", "spectrum"))
    assert json_ready(parts)["fit"] is parts["fit"]  # passed through, not walked
    assert record_text(json_ready(parts)) == record_text(plain)


def test_a_record_file_is_its_canonical_json_sealed(tmp_path: Path) -> None:
    record = json_ready(_record())
    text = record_text(record)
    data = json.loads(text)
    checksum = data.pop("checksum")
    assert data == record and checksum == content_checksum(record)
    assert text.startswith(json.dumps(record, sort_keys=True, separators=(",", ":"))[:-1])
    path = tmp_path / "r.json"
    path.write_text(text)
    assert load_record(path) == record
    path.write_text(text.replace("110.0", "111.0"))
    assert load_record(path) is None  # a changed record does not pass


def test_worker_records_seal_to_valid_files(tmp_path: Path) -> None:
    spectra = _spectra(4, seed=5)
    settings = BatchSettings("L0-R0-p(R1,CPE1)-p(R2,CPE2)")
    names = compile_circuit(settings.circuit).names
    outputs = list(iter_group([pack(s) for s in spectra], settings, [None] * 4, names,
                              sibling_bands(spectra)))  # fmt: skip
    for k, (row, record) in enumerate(outputs):
        assert record is not None
        assert isinstance(record["spectrum"], CanonicalJSON)
        path = tmp_path / f"{k}.json"
        path.write_text(record_text(json_ready(record)))
        loaded = load_record(path)
        assert loaded is not None
        assert loaded["row"]["status"] == row["status"]
        assert loaded["spectrum"]["frequency_hz"] == spectra[k].frequency_hz.tolist()
        if loaded["fit"] is not None:
            assert loaded["fit"]["chi2"] == row["chi2"]
