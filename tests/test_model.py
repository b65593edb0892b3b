"""Compiled circuits: impedance against impedance.py, Jacobians against finite differences."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from impedance.models.circuits import CustomCircuit

import eisfit
from eisfit.notation.elements import to_impedance_py_params

# private: the tree builder is checked node by node; compile_circuit only shows its result
from eisfit.notation.model import _build

CIRCUITS = [
    "R0",
    "p(R1,CPE1)",
    "L0-R0-p(R1,CPE1)-p(R2,CPE2)",
    "L0-R0-p(R1,CPE1)-p(R2,CPE2)-p(R3,CPE3)",
    "R0-p(CPE1,R1)-p(R2,C2)-L1-CPE3-C4",  # fused path with every series element it inlines
    "R0-p(R1-W1,CPE1)",  # Randles: generic tree path
    "R0-p(R1,CPE1)-Wo1",
    "R0-p(R1,p(R2,C2)-Ws2)-G1",  # nested parallel
    "La0-R0-p(R1,CPE1)-K1-Zarc1",
]
FREQUENCY_HZ = np.logspace(7, -2, 60)


def _random_theta(circuit: eisfit.Circuit, rng: np.random.Generator) -> np.ndarray:
    theta = []
    for p in circuit.parameters:
        if p.log_scale:
            scale = {"ohm": 100.0, "H": 1e-6, "F": 1e-6, "s": 1e-3}.get(p.unit, 1e-5)
            theta.append(scale * 10 ** rng.uniform(-1, 1))
        else:
            theta.append(rng.uniform(0.5, 1.0))
    return np.array(theta)


def _impedance_py(circuit: eisfit.Circuit, theta: np.ndarray) -> np.ndarray:
    values = []
    for element in circuit.elements:
        idx = [i for i, p in enumerate(circuit.parameters) if p.element == element.name]
        values.extend(to_impedance_py_params(element.symbol, list(theta[idx])))
    model = CustomCircuit(circuit.text, initial_guess=values)
    # impedance.py 1.7 evaluates parameter reprs, which numpy 2 changed; and it warns that
    # it is "simulating based on initial parameters", which is what is wanted here
    with np.printoptions(legacy="1.25"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Simulating circuit", UserWarning)
        return model.predict(FREQUENCY_HZ, use_initial=True)


@pytest.mark.parametrize("text", CIRCUITS)
def test_impedance_matches_impedance_py(text: str) -> None:
    circuit = eisfit.compile_circuit(text)
    rng = np.random.default_rng(len(text))
    for _ in range(5):
        theta = _random_theta(circuit, rng)
        np.testing.assert_allclose(
            circuit.impedance(theta, FREQUENCY_HZ), _impedance_py(circuit, theta), rtol=1e-10
        )


@pytest.mark.parametrize("text", CIRCUITS)
def test_jacobian_matches_finite_differences(text: str) -> None:
    circuit = eisfit.compile_circuit(text)
    theta = _random_theta(circuit, np.random.default_rng(7))
    jac = circuit.jacobian(theta, FREQUENCY_HZ)
    for k in range(theta.size):
        step = 1e-6 * abs(theta[k])
        up, down = theta.copy(), theta.copy()
        up[k] += step
        down[k] -= step
        fd = (circuit.impedance(up, FREQUENCY_HZ) - circuit.impedance(down, FREQUENCY_HZ)) / (
            2 * step
        )
        scale = np.abs(circuit.impedance(theta, FREQUENCY_HZ)) / abs(theta[k])
        assert np.all(np.abs(jac[:, k] - fd) <= 1e-6 * scale + 1e-12 * np.abs(fd)), (
            circuit.parameters[k].name
        )


@pytest.mark.parametrize("text", CIRCUITS)
def test_fused_and_batch_evaluators_agree_with_the_tree(text: str) -> None:
    circuit = eisfit.compile_circuit(text)
    tree_eval = _build(circuit.tree, 0)[0]
    omega = 2 * np.pi * FREQUENCY_HZ
    thetas = np.stack([_random_theta(circuit, np.random.default_rng(s)) for s in range(4)])
    for theta in thetas:
        z, dz = circuit.evaluate_omega(theta, omega)
        z_ref, dz_ref = tree_eval(theta, omega)
        np.testing.assert_allclose(z, z_ref, rtol=1e-12)
        np.testing.assert_allclose(dz, dz_ref, rtol=1e-10, atol=1e-300)
    if circuit.batchable:
        zb, dzb = circuit.evaluate_batch(thetas, omega)
        for k, theta in enumerate(thetas):
            z_ref, dz_ref = tree_eval(theta, omega)
            np.testing.assert_allclose(zb[k], z_ref, rtol=1e-12)
            np.testing.assert_allclose(dzb[k], dz_ref, rtol=1e-10, atol=1e-300)
        # the fitter's layout: derivative rows, then Z as one more row
        stacked = circuit.evaluate_stacked(thetas, omega)
        assert stacked.shape == (len(thetas), len(circuit) + 1, omega.size)
        np.testing.assert_array_equal(stacked[:, :-1], dzb)
        np.testing.assert_array_equal(stacked[:, -1], zb)
    else:
        with pytest.raises(eisfit.CircuitError):
            circuit.evaluate_batch(thetas, omega)
        with pytest.raises(eisfit.CircuitError):
            circuit.evaluate_stacked(thetas, omega)


def test_parameter_names_and_aliases() -> None:
    circuit = eisfit.compile_circuit("L0-R0-p(R1,CPE1)")
    assert circuit.names == ("L0.L", "R0.R", "R1.R", "CPE1.Q", "CPE1.n")
    assert [p.ipy_name for p in circuit.parameters] == ["L0", "R0", "R1", "CPE1_0", "CPE1_1"]
    for alias in ("CPE1.n", "CPE1_n", "CPE1_1"):
        assert circuit.index(alias) == 4
    with pytest.raises(eisfit.CircuitError, match="unknown parameter"):
        circuit.index("CPE2.n")


def test_wrong_theta_length_raises() -> None:
    circuit = eisfit.compile_circuit("R0-p(R1,C1)")
    with pytest.raises(eisfit.CircuitError, match="takes 3 parameters"):
        circuit.impedance([1.0, 2.0], FREQUENCY_HZ)
