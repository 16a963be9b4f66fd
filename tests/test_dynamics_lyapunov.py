"""The QR (Benettin) engine of deeptheory.dynamics, each test against an independent truth.

Truths used here (none of them calls the engine's compiled loops):

* a pure-NumPy QR method written below (:func:`qr_reference`: matmul + numpy.linalg.qr,
  re-orthonormalising at every step, which in exact arithmetic gives the same diagonal
  products as any interval, since the product of the R factors is the R factor of the
  product), started from the engine's documented initial state and frame;
* exact spectra: a diagonalisable linear map x -> A x has exponents ln|mu_i|; RK4 on
  x' = A x has ln|P(dt mu_i)| / dt with P(z) = 1 + z + z^2/2 + z^3/6 + z^4/24 (the
  stability polynomial, written out here) and Euler ln|1 + dt mu_i| / dt; a Haar
  orthogonal product has every exponent = 1/2 ln sigma_w^2;
* sum rules: sum_i lambda_i = time average of ln|det J_t| along the trajectory
  (numpy.linalg.slogdet on a trajectory propagated here); Henon: ln b; the rate network
  with zero diagonal: -N / tau;
* published Lorenz exponents (0.9056, 0, -14.5723), sum -(sigma + 1 + beta).

Runtimes: the compiled user-system loop is specialised to each pair of numba functions
and not cached on disk; two pairs are compiled here (a linear system and Lorenz), about
8-14 s each on the 2-core test machine.
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np
import pytest

import deeptheory
import deeptheory.dynamics as dyn
from deeptheory.dynamics import FrameCollapseWarning

# --------------------------------------------------------------------------- reference


def initial_frame(seed, n, k):
    """The engine's documented default start: x0 = N(0, 1) entries, then an orthonormal
    frame from numpy.linalg.qr of an n x k Gaussian matrix, both from default_rng(seed)."""
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(n)
    q0, _ = np.linalg.qr(rng.standard_normal((n, k)))
    return x0, q0


def qr_reference(step, x0, q0, *, n_steps, transient, unit=1.0):
    """Textbook QR method: step(s, x, Q) -> (x', J Q); QR after every step; the logs of
    |R_ii| summed over the measured steps (after ``transient`` steps) / measured time,
    sorted descending as the engine returns them.  Also the final state."""
    x, q = np.array(x0, dtype=float), np.array(q0, dtype=float)
    logs = np.zeros(q.shape[1])
    for s in range(transient + n_steps):
        x, q = step(s, x, q)
        q, r = np.linalg.qr(q)
        if s >= transient:
            logs += np.log(np.abs(np.diag(r)))
    return np.sort(logs)[::-1] / (n_steps * unit), x


ACTS = {
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "sin": (np.sin, np.cos),
}


def rnn_step(w, b, u, act):
    phi, dphi = ACTS[act]

    def step(s, x, q):
        c = b + (0.0 if u is None else (u[0] if len(u) == 1 else u[s]))
        return w @ phi(x) + c, w @ (dphi(x)[:, None] * q)

    return step


def rate_step(j, tau, b, u, dt, method):
    def rhs(s, x, q):
        c = b + (0.0 if u is None else u[s])
        d = 1.0 - np.tanh(x) ** 2
        return (-x + j @ np.tanh(x) + c) / tau, (-q + j @ (d[:, None] * q)) / tau

    def step(s, x, q):
        k1 = rhs(s, x, q)
        if method == "euler":
            return x + dt * k1[0], q + dt * k1[1]
        k2 = rhs(s, x + 0.5 * dt * k1[0], q + 0.5 * dt * k1[1])
        k3 = rhs(s, x + 0.5 * dt * k2[0], q + 0.5 * dt * k2[1])
        k4 = rhs(s, x + dt * k3[0], q + dt * k3[1])
        return (x + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]),
                q + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]))

    return step


# Henon map (a = 1.4, b = 0.3) and the Lorenz flow (sigma = 10, rho = 28, beta = 8/3)
HENON_A, HENON_B = 1.4, 0.3


def henon_f(x):
    return np.array([1.0 - HENON_A * x[0] * x[0] + x[1], HENON_B * x[0]])


def henon_jac(x):
    return np.array([[-2.0 * HENON_A * x[0], 1.0], [HENON_B, 0.0]])


def lorenz_f(x):
    return np.array([10.0 * (x[1] - x[0]), x[0] * (28.0 - x[2]) - x[1],
                     x[0] * x[1] - 8.0 / 3.0 * x[2]])


def lorenz_jac(x):
    return np.array([[-10.0, 10.0, 0.0], [28.0 - x[2], -1.0, -x[0]],
                     [x[1], x[0], -8.0 / 3.0]])


lorenz_f_nb = numba.njit(lorenz_f)
lorenz_jac_nb = numba.njit(lorenz_jac)

# a diagonalisable linear system x -> A x (map) / x' = A x (flow), real eigenvalues
MU = np.array([1.6, -0.9, 0.5, 0.25])
_S = np.array([[1.0, 0.3, -0.2, 0.1], [0.2, 1.0, 0.4, -0.3],
               [-0.1, 0.5, 1.0, 0.2], [0.3, -0.2, 0.1, 1.0]])
A_LIN = _S @ np.diag(MU) @ np.linalg.inv(_S)


def lin_f(x):
    return A_LIN @ x


def lin_jac(x):
    return A_LIN.copy()


lin_f_nb = numba.njit(lin_f)
lin_jac_nb = numba.njit(lin_jac)


def rk4_growth(z):
    """ln|P(z)| with P the RK4 stability polynomial (RK4 on y' = mu y, z = dt mu)."""
    return np.log(np.abs(1.0 + z + z**2 / 2 + z**3 / 6 + z**4 / 24))


# --------------------------------------------------------------------------- vs reference
# Tolerance 1e-10: the engine and the reference do the same arithmetic in a different
# order (one matmul on [x | Q], QR every qr_every steps); the measured differences were
# 3e-16 (exponents) and 4e-15 (state) on these runs, the trajectories being too short
# for the chaotic growth e^(lambda_1 T) to amplify rounding beyond 1e-12.


@pytest.mark.parametrize("case", ["plain", "bias+sequence", "bias+constant", "sin"])
def test_discrete_rnn_matches_reference(case):
    n, k, seed = 60, 7, 5
    # sin at gain 1.5 is strongly chaotic (rounding grows to 1e-10 in 130 steps): gain 1.1
    gain = 1.1 if case == "sin" else 1.5
    net = dyn.random_rnn(n, gain, sigma_b2=0.0 if case == "plain" else 0.1, seed=4)
    u, act = None, "tanh"
    if case == "bias+sequence":
        u = 0.3 * np.random.default_rng(9).standard_normal((130, n))
    elif case == "bias+constant":
        u = 0.2 * np.random.default_rng(9).standard_normal((1, n))
    elif case == "sin":
        act = "sin"
    sysm = dyn.DiscreteRNN(net.w, net.b, act, inputs=u)
    x0, q0 = initial_frame(seed, n, k)
    want, x_end = qr_reference(rnn_step(net.w, net.b, u, act), x0, q0, n_steps=120,
                               transient=10)
    got = dyn.lyapunov_spectrum(sysm, n_steps=120, k=k, qr_every=3, transient=10, seed=seed,
                                on_fail="ignore")
    np.testing.assert_allclose(got.exponents, want, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got.state, x_end, rtol=0, atol=1e-10)
    assert got.qr_every == 3 and got.transient == 10 and got.n_steps == 120 and got.dt is None


def test_explicit_x0_matches_reference():
    # with x0 given nothing is drawn for it: the frame is the generator's first draw
    n, k = 30, 5
    net = dyn.random_rnn(n, 1.3, sigma_b2=0.2, seed=1)
    x0 = np.linspace(-1.0, 1.0, n)
    q0, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((n, k)))
    want, _ = qr_reference(rnn_step(net.w, net.b, None, "tanh"), x0, q0, n_steps=100,
                           transient=0)
    got = dyn.lyapunov_spectrum(net, n_steps=100, k=k, qr_every=4, transient=0, x0=x0, seed=3,
                                on_fail="ignore")
    np.testing.assert_allclose(got.exponents, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("method,dt", [("euler", 0.05), ("rk4", 0.1)])
def test_rate_network_matches_reference(method, dt):
    n, k, seed, tau = 40, 6, 5, 0.7
    j = dyn.random_rate_network(n, 2.0, tau=tau, seed=2).j
    b = 0.2 * np.random.default_rng(1).standard_normal(n)
    u = 0.1 * np.random.default_rng(2).standard_normal((250, n))
    net = dyn.RateNetwork(j, tau, b, "tanh", u)
    x0, q0 = initial_frame(seed, n, k)
    want, x_end = qr_reference(rate_step(j, tau, b, u, dt, method), x0, q0, n_steps=200,
                               transient=20, unit=dt)
    got = dyn.lyapunov_spectrum(net, n_steps=200, k=k, qr_every=4, transient=20, seed=seed,
                                dt=dt, method=method, on_fail="ignore")
    np.testing.assert_allclose(got.exponents, want, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got.state, x_end, rtol=0, atol=1e-10)
    assert got.dt == dt


def test_rate_network_default_dt_is_005_tau():
    n, tau = 10, 2.0
    net = dyn.random_rate_network(n, 1.5, tau=tau, seed=0)
    x0, q0 = initial_frame(0, n, n)
    want, _ = qr_reference(rate_step(net.j, tau, np.zeros(n), None, 0.1, "rk4"), x0, q0,
                           n_steps=50, transient=5, unit=0.1)
    got = dyn.lyapunov_spectrum(net, n_steps=50, qr_every=1, transient=5, on_fail="ignore")
    assert got.dt == pytest.approx(0.05 * tau, rel=1e-15)
    np.testing.assert_allclose(got.exponents, want, rtol=0, atol=1e-10)


def flow_step(f, jac, dt, method):
    """One Euler or RK4 step of x' = f(x), Q' = jac(x) Q."""
    def rhs(x, q):
        return f(x), jac(x) @ q

    def step(s, x, q):
        k1 = rhs(x, q)
        if method == "euler":
            return x + dt * k1[0], q + dt * k1[1]
        k2 = rhs(x + 0.5 * dt * k1[0], q + 0.5 * dt * k1[1])
        k3 = rhs(x + 0.5 * dt * k2[0], q + 0.5 * dt * k2[1])
        k4 = rhs(x + dt * k3[0], q + dt * k3[1])
        return (x + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]),
                q + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]))

    return step


def test_map_and_flow_systems_match_reference():
    # plain NumPy callables: Henon (map) and Lorenz (flow, RK4 and Euler); x0 given, so
    # the frame is the seed's first draw
    x0 = np.array([0.1, 0.1])
    q0, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((2, 2)))
    want, _ = qr_reference(lambda s, x, q: (henon_f(x), henon_jac(x) @ q), x0, q0,
                           n_steps=500, transient=20)
    got = dyn.lyapunov_spectrum(dyn.MapSystem(henon_f, henon_jac), n_steps=500, transient=20,
                                qr_every=2, x0=x0, seed=3, on_fail="ignore")
    np.testing.assert_allclose(got.exponents, want, rtol=0, atol=1e-10)

    x0 = np.array([1.0, 2.0, 20.0])
    q0, _ = np.linalg.qr(np.random.default_rng(4).standard_normal((3, 3)))
    for method, dt in (("rk4", 0.01), ("euler", 0.002)):
        want, _ = qr_reference(flow_step(lorenz_f, lorenz_jac, dt, method), x0, q0,
                               n_steps=300, transient=10, unit=dt)
        got = dyn.lyapunov_spectrum(dyn.FlowSystem(lorenz_f, lorenz_jac), n_steps=300,
                                    transient=10, qr_every=5, dt=dt, method=method, x0=x0,
                                    seed=4, on_fail="ignore")
        np.testing.assert_allclose(got.exponents, want, rtol=0, atol=1e-10)


# --------------------------------------------------------------------------- exact spectra


def test_linear_map_and_flow_exact_compiled_and_python():
    """x -> A x has exponents ln|mu_i|; x' = A x under RK4 has ln|P(dt mu_i)| / dt and under
    Euler ln|1 + dt mu_i| / dt.  After the transient the frame is aligned with the Schur
    basis to e^(-gap * transient) (gap >= 0.57 per step here) and every R_ii is exact, so
    the tolerance is rounding (measured differences about 1e-14).  Compiled (numba.njit)
    and plain callables run different loops on the same arithmetic: same answer."""
    x0 = np.array([0.3, -0.2, 0.5, 1.0])
    order = np.argsort(-np.abs(MU))
    for f, jac in ((lin_f, lin_jac), (lin_f_nb, lin_jac_nb)):
        res = dyn.lyapunov_spectrum(dyn.MapSystem(f, jac), n_steps=400, transient=100,
                                    qr_every=3, x0=x0, seed=1)
        np.testing.assert_allclose(res.exponents, np.log(np.abs(MU[order])), rtol=0,
                                   atol=1e-10)
        # the leading Gram-Schmidt vector is the top eigenvector: its participation ratio
        mu, vecs = np.linalg.eig(A_LIN)
        v = vecs[:, np.argmax(np.abs(mu))].real
        v /= np.linalg.norm(v)
        assert res.participation_ratio == pytest.approx(1.0 / (4 * np.sum(v**4)), rel=1e-9)
        dt = 0.1
        for method, want in (("rk4", rk4_growth(dt * MU) / dt),
                             ("euler", np.log(np.abs(1.0 + dt * MU)) / dt)):
            # smallest rate gap 0.25 per unit time: transient T = 160 leaves e^(-40)
            res = dyn.lyapunov_spectrum(dyn.FlowSystem(f, jac), n_steps=400, transient=1600,
                                        dt=dt, method=method, qr_every=4, x0=x0, seed=1)
            np.testing.assert_allclose(res.exponents, np.sort(want)[::-1], rtol=0, atol=1e-10)
            assert res.dt == dt


def test_compiled_and_python_lorenz_agree():
    # 300 RK4 steps (T = 3): rounding differences grow like e^(0.9 T) = 15, far below 1e-10
    x0 = np.array([1.0, 2.0, 20.0])
    kw = dict(n_steps=300, transient=10, qr_every=3, dt=0.01, x0=x0, seed=2, on_fail="ignore")
    py = dyn.lyapunov_spectrum(dyn.FlowSystem(lorenz_f, lorenz_jac), **kw)
    nb = dyn.lyapunov_spectrum(dyn.FlowSystem(lorenz_f_nb, lorenz_jac_nb), **kw)
    np.testing.assert_allclose(nb.exponents, py.exponents, rtol=0, atol=1e-10)
    np.testing.assert_allclose(nb.state, py.state, rtol=0, atol=1e-10)
    assert nb.participation_ratio == pytest.approx(py.participation_ratio, rel=1e-10)


@pytest.mark.parametrize("sigma_w2", [1.0, 2.5])
def test_orthogonal_linear_deep_map_is_exact(sigma_w2):
    # every layer is sqrt(sigma_w2) x (Haar orthogonal): all singular values are
    # sqrt(sigma_w2), so every exponent is 1/2 ln sigma_w2 (to rounding)
    res = dyn.lyapunov_spectrum(dyn.DeepMap(20, sigma_w2, activation="linear",
                                            weights="orthogonal"), n_steps=200, seed=3)
    np.testing.assert_allclose(res.exponents, 0.5 * math.log(sigma_w2), rtol=0, atol=1e-12)
    assert np.all(res.stderr < 1e-12) and res.converged


def test_gaussian_linear_deep_map_scales_with_sigma_w():
    # same seed, same standard normal draws scaled by sqrt(sigma_w2 / N): the exponents
    # shift by exactly 1/2 ln sigma_w2
    kw = dict(n_steps=300, qr_every=2, seed=8, on_fail="ignore")
    a = dyn.lyapunov_spectrum(dyn.DeepMap(15, 1.0, activation="linear"), **kw)
    b = dyn.lyapunov_spectrum(dyn.DeepMap(15, 3.0, activation="linear"), **kw)
    np.testing.assert_allclose(b.exponents - a.exponents, 0.5 * math.log(3.0), rtol=0,
                               atol=1e-12)


# --------------------------------------------------------------------------- sum rules


def test_map_sum_rule_discrete_rnn():
    """Full spectrum: sum_i lambda_i = (1/T) sum_t ln|det W diag(phi'(h_t))| over the
    measured steps, h_t propagated here from the same x0 (numpy.linalg.slogdet).  An
    identity up to rounding: tolerance 1e-9 (measured difference ~1e-14)."""
    n, transient, steps = 30, 20, 300
    net = dyn.random_rnn(n, 1.5, sigma_b2=0.1, seed=6)
    x0 = np.random.default_rng(0).standard_normal(n)
    res = dyn.lyapunov_spectrum(net, n_steps=steps, transient=transient, qr_every=2, x0=x0,
                                on_fail="ignore")
    h, logdets = x0.copy(), []
    for t in range(transient + steps):
        if t >= transient:
            logdets.append(np.linalg.slogdet(net.w * (1.0 - np.tanh(h) ** 2)[None, :])[1])
        h = net.w @ np.tanh(h) + net.b
    assert res.exponents.sum() == pytest.approx(np.mean(logdets), abs=1e-9)
    np.testing.assert_allclose(res.state, h, rtol=0, atol=1e-10)


def test_henon_sum_is_ln_b():
    # det J = -b at every point: lambda_1 + lambda_2 = ln b exactly (to rounding)
    res = dyn.lyapunov_spectrum(dyn.MapSystem(henon_f, henon_jac), n_steps=3000,
                                x0=np.array([0.1, 0.1]), seed=0)
    assert res.exponents.sum() == pytest.approx(math.log(HENON_B), abs=1e-12)
    # and the published lambda_1 = 0.41922 (e.g. Sprott 2003): tolerance 4.5 stderr
    assert abs(res.exponents[0] - 0.41922) <= 4.5 * res.stderr[0]


def test_rate_network_sum_rule_rk4():
    """Zero diagonal: tr of the tangent generator (-I + J D) / tau is -N / tau at every
    point, so the exact flow has sum_i lambda_i = -N / tau.  RK4's tangent propagator has
    ln det = -N dt / tau + O(dt^5) per step, an O(dt^4) error per unit time (with no
    statistical noise: the sum is a per-step identity).  Measured here (N = 40, tau = 0.5,
    g = 2.5, T = 20): error 4.7e-4 at dt = 0.1, 1.3e-5 at dt = 0.05, 4.5e-7 at 0.025
    (ratios 36 and 29, at least the 2^4 of O(dt^4)).  Test: at dt = 0.1 the error is below
    1e-3 (twice the measured), and halving dt divides it by at least 2^4 = 16."""
    n, tau = 40, 0.5
    net = dyn.random_rate_network(n, 2.5, tau=tau, seed=3)
    errs = []
    for dt in (0.1, 0.05):
        res = dyn.lyapunov_spectrum(net, n_steps=int(round(20 / dt)), dt=dt, seed=1,
                                    on_fail="ignore")
        errs.append(abs(res.exponents.sum() - dyn.exponent_sum(n, tau)))
    assert dyn.exponent_sum(n, tau) == -n / tau
    assert errs[0] < 1e-3
    assert errs[1] < errs[0] / 16


def test_rate_network_euler_sum_rule_exact():
    """The Euler map h' = h + (dt/tau)(-h + J phi(h)) has Jacobian (1 - dt/tau) I +
    (dt/tau) J D_t: sum_i lambda_i = mean_t ln|det(...)| / dt along the trajectory
    (propagated here).  An identity: tolerance 1e-9."""
    n, tau, dt, transient, steps = 30, 1.3, 0.05, 40, 400
    net = dyn.random_rate_network(n, 2.5, tau=tau, seed=4)
    x0 = np.random.default_rng(1).standard_normal(n)
    res = dyn.lyapunov_spectrum(net, n_steps=steps, transient=transient, dt=dt,
                                method="euler", x0=x0, qr_every=5, on_fail="ignore")
    h, logdets = x0.copy(), []
    a = dt / tau
    for t in range(transient + steps):
        if t >= transient:
            jac = (1.0 - a) * np.eye(n) + a * net.j * (1.0 - np.tanh(h) ** 2)[None, :]
            logdets.append(np.linalg.slogdet(jac)[1])
        h = h + a * (-h + net.j @ np.tanh(h))
    assert res.exponents.sum() == pytest.approx(np.mean(logdets) / dt, abs=1e-9)
    # and it is not the flow's -N / tau (the Euler map's own sum differs at O(dt))
    assert abs(res.exponents.sum() + n / tau) > 1e-3


# --------------------------------------------------------------------------- Lorenz


def test_lorenz_spectrum():
    """dt = 0.01, RK4, T = 5000 (numba callables).  Reference (0.9056, 0, -14.5723).
    Tolerance per exponent: 4 batch-means standard errors (about 0.003, 0.0011, 0.0025
    here) + 1e-3 for the RK4 bias and the reference's rounding; measured: three initial
    conditions deviated by at most 0.0022, and dt = 0.005 / 0.02 moved the exponents by
    less than one standard error.  Sum: RK4 ln det error O(dt^4), measured 1.02e-4 at
    dt = 0.01 (6.2e-6 at 0.005, 1.77e-3 at 0.02: ratios 16.4, 17.3), noise-free; tolerance
    2e-4.  Command: dyn.lyapunov_spectrum(dyn.FlowSystem(f, jac), n_steps=500_000,
    transient=5000, dt=0.01, x0=..., seed=s) for s = 0, 1, 2."""
    x0 = np.array([1.0, 1.0, 20.0]) + np.random.default_rng(0).standard_normal(3)
    res = dyn.lyapunov_spectrum(dyn.FlowSystem(lorenz_f_nb, lorenz_jac_nb), n_steps=500_000,
                                transient=5000, dt=0.01, x0=x0, seed=0)
    ref = np.array([0.9056, 0.0, -14.5723])
    assert np.all(res.stderr < 0.004)
    np.testing.assert_array_less(np.abs(res.exponents - ref), 4 * res.stderr + 1e-3)
    assert res.exponents.sum() == pytest.approx(-(10.0 + 1.0 + 8.0 / 3.0), abs=2e-4)
    e = res.exponents
    assert res.kaplan_yorke == pytest.approx(2.0 + (e[0] + e[1]) / abs(e[2]), rel=1e-12)
    assert res.ks_entropy == pytest.approx(e[0] + max(e[1], 0.0), rel=1e-12)
    # D_KY = 2 + 0.9056 / 14.5723 = 2.06214; its standard error is about
    # sqrt(se1^2 + se2^2) / |lambda_3| = 2.2e-4
    se_ky = math.hypot(res.stderr[0], res.stderr[1]) / abs(e[2])
    assert abs(res.kaplan_yorke - (2.0 + 0.9056 / 14.5723)) <= 4 * se_ky + 1e-4
    assert res.converged and res.dt == 0.01 and res.n_steps == 500_000


def test_deep_map_bias_does_not_enter_linear_tangent():
    # linear phi: the Jacobian of h -> W h + b is W whatever b is; the sampler draws the
    # bias noise at every layer either way, so the same seed gives the same W stream
    kw = dict(n_steps=200, qr_every=2, seed=4, on_fail="ignore")
    a = dyn.lyapunov_spectrum(dyn.DeepMap(12, 1.5, activation="linear"), **kw)
    b = dyn.lyapunov_spectrum(dyn.DeepMap(12, 1.5, sigma_b2=0.7, activation="linear"), **kw)
    np.testing.assert_allclose(b.exponents, a.exponents, rtol=0, atol=1e-12)
    assert not np.allclose(b.state, a.state)


# --------------------------------------------------------------------------- qr_every


def test_result_does_not_depend_on_qr_every():
    """The product of the R factors is the R factor of the product, so any interval gives
    the same exponents in exact arithmetic; for the 10 leading exponents of a mildly
    chaotic network (spread of ln|R_ii| per step about 0.3) intervals 1, 4, 10 agree to
    rounding (measured 1e-13), far inside one standard error (3e-3)."""
    net = dyn.random_rnn(60, 1.5, seed=2)
    x0 = np.random.default_rng(0).standard_normal(60)
    runs = [dyn.lyapunov_spectrum(net, n_steps=1000, k=10, transient=100, qr_every=q, x0=x0,
                                  on_fail="ignore") for q in (1, 4, 10)]
    for r in runs[1:]:
        np.testing.assert_allclose(r.exponents, runs[0].exponents, rtol=0, atol=1e-9)
        assert np.all(np.abs(r.exponents - runs[0].exponents) < 0.01 * runs[0].stderr)
    assert [r.qr_every for r in runs] == [1, 4, 10]


def test_frame_collapse_warns_and_is_wrong():
    """tanh network g = 3, N = 100, full spectrum: ln|R_ii| spreads by about 18 nats per
    step, so 10 steps between QRs (42 nats > ln(1/eps) = 36) lose the lowest directions:
    FrameCollapseWarning, and the bottom exponent is off by 7 nats (measured -3.50 against
    -10.62 with qr_every = 1, 75 standard errors) while the top one is unaffected.
    "auto" picks an interval that keeps the spread near 20 nats and does not warn."""
    net = dyn.random_rnn(100, 3.0, seed=1)
    kw = dict(n_steps=400, seed=0, on_fail="ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FrameCollapseWarning)
        good = dyn.lyapunov_spectrum(net, qr_every=1, **kw)
        auto = dyn.lyapunov_spectrum(net, qr_every="auto", **kw)
    with pytest.warns(FrameCollapseWarning, match="qr_every = 10"):
        bad = dyn.lyapunov_spectrum(net, qr_every=10, **kw)
    assert bad.span > 30.0 > good.span
    assert abs(bad.exponents[-1] - good.exponents[-1]) > 20 * good.stderr[-1]
    assert bad.exponents[0] == pytest.approx(good.exponents[0], abs=1e-6)
    # auto: a 20-step pilot first, so another stretch of the same attractor: the two
    # estimates agree within 4.5 combined standard errors, exponent by exponent
    assert auto.qr_every <= 2 and auto.span < 30.0
    se = np.hypot(auto.stderr, good.stderr)
    np.testing.assert_array_less(np.abs(auto.exponents - good.exponents), 4.5 * se)


# --------------------------------------------------------------------------- reproducibility


def test_same_seed_same_result_different_seed_different():
    net = dyn.random_rnn(40, 2.0, seed=11)
    assert np.array_equal(net.w, dyn.random_rnn(40, 2.0, seed=11).w)
    assert not np.allclose(net.w, dyn.random_rnn(40, 2.0, seed=12).w)
    kw = dict(n_steps=300, k=5, on_fail="ignore")
    a = dyn.lyapunov_spectrum(net, seed=3, **kw)
    b = dyn.lyapunov_spectrum(net, seed=3, **kw)
    c = dyn.lyapunov_spectrum(net, seed=4, **kw)
    assert np.array_equal(a.exponents, b.exponents) and np.array_equal(a.stderr, b.stderr)
    assert np.array_equal(a.running, b.running) and np.array_equal(a.state, b.state)
    assert not np.allclose(a.exponents, c.exponents, rtol=0, atol=1e-6)
    g1 = dyn.lyapunov_spectrum(net, seed=np.random.default_rng(5), **kw)
    g2 = dyn.lyapunov_spectrum(net, seed=np.random.default_rng(5), **kw)
    assert np.array_equal(g1.exponents, g2.exponents)

    deep = dyn.DeepMap(30, 2.0, sigma_b2=0.1, activation="tanh")
    kw = dict(n_steps=200, k=4, on_fail="ignore")
    d1 = dyn.lyapunov_spectrum(deep, seed=7, **kw)
    d2 = dyn.lyapunov_spectrum(deep, seed=7, **kw)
    d3 = dyn.lyapunov_spectrum(deep, seed=8, **kw)
    assert np.array_equal(d1.exponents, d2.exponents) and np.array_equal(d1.state, d2.state)
    assert not np.allclose(d1.exponents, d3.exponents, rtol=0, atol=1e-6)

    rate = dyn.random_rate_network(30, 2.0, seed=1)
    r1 = dyn.lyapunov_spectrum(rate, n_steps=200, k=3, seed=2, on_fail="ignore")
    r2 = dyn.lyapunov_spectrum(rate, n_steps=200, k=3, seed=2, on_fail="ignore")
    assert np.array_equal(r1.exponents, r2.exponents)


def test_state_continues_a_run():
    # the state column evolves independently of the frame: two runs of 150 steps chained
    # through res.state end where one run of 300 steps ends
    net = dyn.random_rnn(25, 1.8, seed=0)
    kw = dict(k=3, transient=0, qr_every=3, on_fail="ignore")
    one = dyn.lyapunov_spectrum(net, n_steps=300, seed=1, **kw)
    x0 = np.random.default_rng(1).standard_normal(25)
    first = dyn.lyapunov_spectrum(net, n_steps=150, x0=x0, seed=1, **kw)
    second = dyn.lyapunov_spectrum(net, n_steps=150, x0=first.state, seed=1, **kw)
    np.testing.assert_allclose(second.state, one.state, rtol=0, atol=1e-12)


def test_blas_threads_setting_does_not_change_the_result():
    # a non-chaotic run (g = 0.9 decays to 0): rounding differences of a threaded BLAS
    # stay at rounding level
    net = dyn.random_rnn(80, 0.9, seed=0)
    kw = dict(n_steps=300, k=5, qr_every=2, seed=1, on_fail="ignore")
    one = dyn.lyapunov_spectrum(net, blas_threads="one", **kw)
    default = dyn.lyapunov_spectrum(net, blas_threads="default", **kw)
    np.testing.assert_allclose(default.exponents, one.exponents, rtol=0, atol=1e-10)


def test_exponents_sorted_with_their_running_estimates():
    """A real 2 x 2 map with a complex pair (|mu| = sqrt(1.3) twice): over 10 steps the
    QR-order estimates are 0.1379 and 0.1244 in reverse order; returned sorted, the
    running estimates permuted alike, and the sum is ln|det A| = ln 1.3 exactly."""
    a = np.array([[1.0, -2.0], [0.5, 0.3]])
    res = dyn.lyapunov_spectrum(dyn.MapSystem(lambda x: a @ x, lambda x: a), n_steps=10,
                                transient=0, qr_every=1, n_blocks=5, x0=np.ones(2), seed=0,
                                on_fail="ignore")
    q0, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((2, 2)))
    want, _ = qr_reference(lambda s, x, q: (a @ x, a @ q), np.ones(2), q0, n_steps=10,
                           transient=0)
    np.testing.assert_allclose(res.exponents, want, rtol=0, atol=1e-12)
    assert res.exponents[0] > res.exponents[1]
    np.testing.assert_array_equal(res.running[-1], res.exponents)
    assert res.exponents.sum() == pytest.approx(math.log(1.3), abs=1e-12)


# --------------------------------------------------------------------------- diagnostics


def test_not_converged_warns_raises_or_stays_silent():
    net = dyn.random_rnn(50, 2.0, seed=0)
    kw = dict(n_steps=20, k=3, qr_every=1, seed=0)
    with pytest.warns(RuntimeWarning, match="not converged"):
        res = dyn.lyapunov_spectrum(net, **kw)
    assert not res.converged
    assert np.max(res.stderr) > 0.02          # the reason: above the default tol
    with pytest.raises(deeptheory.ConvergenceError, match="not converged"):
        dyn.lyapunov_spectrum(net, on_fail="raise", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = dyn.lyapunov_spectrum(net, on_fail="ignore", **kw)
    assert not quiet.converged and np.array_equal(quiet.exponents, res.exponents)
    # a loose tol makes the same run count as converged
    assert dyn.lyapunov_spectrum(net, tol=10.0, on_fail="raise", **kw).converged


def test_drift_between_halves_is_reported():
    # inputs switch on half way: the second half saturates tanh (phi' ~ 1e-2), so the
    # exponents drop by several nats; with tol = 1 the standard error passes but the
    # two halves disagree
    n, steps = 20, 400
    u = np.zeros((steps, n))
    u[steps // 2:] = 3.0
    net = dyn.random_rnn(n, 1.5, seed=0)
    sysm = dyn.DiscreteRNN(net.w, net.b, "tanh", inputs=u)
    with pytest.raises(deeptheory.ConvergenceError, match="two halves"):
        dyn.lyapunov_spectrum(sysm, n_steps=steps, transient=0, k=2, qr_every=1, tol=1.0,
                              seed=0, on_fail="raise")


def test_running_estimates_times_and_participation_ratio():
    n, k, steps, nb = 40, 4, 2000, 50
    net = dyn.random_rnn(n, 2.0, seed=3)
    res = dyn.lyapunov_spectrum(net, n_steps=steps, k=k, qr_every=4, n_blocks=nb, seed=1)
    assert res.converged and res.exponents.shape == (k,) and res.stderr.shape == (k,)
    assert res.running.shape == (nb, k) and res.times.shape == (nb,)
    np.testing.assert_array_equal(res.running[-1], res.exponents)
    assert np.all(np.diff(res.times) > 0) and res.times[-1] == steps
    np.testing.assert_allclose(res.times, steps / nb * np.arange(1, nb + 1))
    assert np.all(np.diff(res.exponents) <= 0)           # descending
    assert 1.0 / n <= res.participation_ratio <= 1.0
    assert res.lambda_max == res.exponents[0]
    # a flow: times in units of time
    rate = dyn.random_rate_network(20, 2.0, seed=0)
    fl = dyn.lyapunov_spectrum(rate, n_steps=1000, k=2, dt=0.05, qr_every=5, n_blocks=20,
                               seed=0, on_fail="ignore")
    np.testing.assert_allclose(fl.times, 0.05 * 50 * np.arange(1, 21))
    np.testing.assert_array_equal(fl.running[-1], fl.exponents)
    # a localised leading vector: a diagonal map's top direction is e_1, PR = 1/N
    diag = np.array([1.5, 1.0, 0.6, 0.3, 0.1])
    loc = dyn.lyapunov_spectrum(dyn.MapSystem(lambda x: diag * x, lambda x: np.diag(diag)),
                                n_steps=200, transient=100, x0=np.ones(5), seed=0)
    assert loc.participation_ratio == pytest.approx(1.0 / 5, rel=1e-9)
    np.testing.assert_allclose(loc.exponents, np.log(diag), rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- bad input


def _lin2(x):
    return 0.5 * x


def _lin2_jac(x):
    return 0.5 * np.eye(2)


def _rnn(n=5):
    return dyn.random_rnn(n, 1.5, seed=0)


def _rate(n=5):
    return dyn.random_rate_network(n, 1.5, seed=0)


def _ls(system, **kw):
    kw.setdefault("n_steps", 10)
    return dyn.lyapunov_spectrum(system, **kw)


BAD = {
    "w not square": (lambda: dyn.DiscreteRNN(np.ones((3, 4))), ValueError, "w must be a square"),
    "w empty": (lambda: dyn.DiscreteRNN(np.ones((0, 0))), ValueError, "w must be a square"),
    "w not finite": (lambda: dyn.DiscreteRNN(np.array([[1.0, np.nan], [0.0, 1.0]])),
                     ValueError, "w must be finite"),
    "j not square": (lambda: dyn.RateNetwork(np.ones((2, 3))), ValueError, "j must be a square"),
    "j not finite": (lambda: dyn.RateNetwork(np.array([[0.0, np.inf], [1.0, 0.0]])),
                     ValueError, "j must be finite"),
    "w complex": (lambda: dyn.DiscreteRNN(1j * np.eye(2)), TypeError, "w must be a real"),
    "b shape": (lambda: dyn.DiscreteRNN(np.eye(3), b=np.ones(4)), ValueError, "b must have"),
    "tau <= 0": (lambda: dyn.RateNetwork(np.eye(3), tau=0.0), ValueError, "tau must be > 0"),
    "dt = 0": (lambda: _ls(_rate(), dt=0.0), ValueError, "dt must be > 0"),
    "dt < 0": (lambda: _ls(_rate(), dt=-0.1), ValueError, "dt must be > 0"),
    "dt for a map": (lambda: _ls(_rnn(), dt=0.1), ValueError, "dt is only for flows"),
    "dt for a deep map": (lambda: _ls(dyn.DeepMap(4, 1.0), dt=0.1), ValueError,
                          "dt is only for flows"),
    "flow without dt": (lambda: _ls(dyn.FlowSystem(_lin2, _lin2_jac), x0=np.ones(2)),
                        ValueError, "dt .*required"),
    "width 0 rnn": (lambda: dyn.random_rnn(0, 1.5), ValueError, "width must be >= 1"),
    "width 0 rate": (lambda: dyn.random_rate_network(0, 1.5), ValueError, "width must be >= 1"),
    "width 0 deep": (lambda: dyn.DeepMap(0, 1.0), ValueError, "width must be >= 1"),
    "k > N": (lambda: _ls(_rnn(), k=6), ValueError, r"k must be in \[1, 5\]"),
    "k < 1": (lambda: _ls(_rnn(), k=0), ValueError, r"k must be in \[1, 5\]"),
    "k not int": (lambda: _ls(_rnn(), k=2.0), TypeError, "k must be an integer"),
    "jac shape": (lambda: _ls(dyn.MapSystem(_lin2, lambda x: np.eye(3)), x0=np.ones(2)),
                  ValueError, r"jac\(x0\) must have shape \(2, 2\)"),
    "f shape": (lambda: _ls(dyn.MapSystem(lambda x: np.ones(3), _lin2_jac), x0=np.ones(2)),
                ValueError, r"f\(x0\) must have shape \(2,\)"),
    "f not finite": (lambda: _ls(dyn.MapSystem(lambda x: np.full(2, np.nan), _lin2_jac),
                                 x0=np.ones(2)), ValueError, "must be finite"),
    "f not callable": (lambda: dyn.MapSystem(1.0, _lin2_jac), TypeError, "f must be callable"),
    "jac not callable": (lambda: dyn.FlowSystem(_lin2, None), TypeError,
                         "jac must be callable"),
    "x0 missing map": (lambda: _ls(dyn.MapSystem(_lin2, _lin2_jac)), ValueError, "x0"),
    "x0 missing flow": (lambda: _ls(dyn.FlowSystem(_lin2, _lin2_jac), dt=0.1), ValueError,
                        "x0"),
    "x0 shape": (lambda: _ls(_rnn(), x0=np.ones(4)), ValueError, r"x0 must have shape \(5,\)"),
    "x0 2-D": (lambda: _ls(dyn.MapSystem(_lin2, _lin2_jac), x0=np.ones((2, 2))), ValueError,
               "x0 must be a 1-D"),
    "x0 not finite": (lambda: _ls(_rnn(), x0=np.full(5, np.nan)), ValueError,
                      "x0 must be finite"),
    "n_steps < qr_every": (lambda: _ls(_rnn(), n_steps=3, qr_every=5), ValueError,
                           r"n_steps \(3\) must be >= qr_every \(5\)"),
    "n_steps 0": (lambda: _ls(_rnn(), n_steps=0), ValueError, "n_steps must be >= 1"),
    "qr_every 0": (lambda: _ls(_rnn(), qr_every=0), ValueError, "qr_every must be >= 1"),
    "qr_every word": (lambda: _ls(_rnn(), qr_every="often"), TypeError, "qr_every"),
    "transient < 0": (lambda: _ls(_rnn(), transient=-1), ValueError, "transient must be >= 0"),
    "n_blocks 1": (lambda: _ls(_rnn(), n_blocks=1), ValueError, "n_blocks must be >= 2"),
    "tol < 0": (lambda: _ls(_rnn(), tol=-1.0), ValueError, "tol must be >= 0"),
    "seed < 0": (lambda: _ls(_rnn(), seed=-1), ValueError, "seed must be >= 0"),
    "inputs too few rows": (
        lambda: _ls(dyn.DiscreteRNN(np.eye(3), inputs=np.ones((5, 3))), transient=0),
        ValueError, "inputs has 5 rows"),
    "rate inputs too few rows": (
        lambda: _ls(dyn.RateNetwork(np.eye(3), inputs=np.ones((9, 3))), transient=1, dt=0.1),
        ValueError, "inputs has 9 rows"),
    "inputs width": (lambda: dyn.DiscreteRNN(np.eye(3), inputs=np.ones((5, 4))), ValueError,
                     "inputs must have shape"),
    "unknown system": (lambda: _ls(object()), TypeError, "system must be one of"),
    "matrix as system": (lambda: _ls(np.eye(3)), TypeError, "system must be one of"),
    "unknown method": (lambda: _ls(_rate(), method="rk45"), ValueError, "method must be"),
    "unknown weights rnn": (lambda: dyn.random_rnn(5, 1.5, weights="uniform"), ValueError,
                            "weights must be one of"),
    "unknown weights rate": (lambda: dyn.random_rate_network(5, 1.5, weights="uniform"),
                             ValueError, "weights must be one of"),
    "unknown weights deep": (lambda: dyn.DeepMap(5, 1.0, weights="uniform"), ValueError,
                             "weights must be one of"),
    "gain < 0": (lambda: dyn.random_rnn(5, -1.0), ValueError, "gain must be >= 0"),
    "sigma_w2 < 0": (lambda: dyn.DeepMap(5, -1.0), ValueError, "sigma_w2 must be >= 0"),
    "unknown activation": (lambda: dyn.DiscreteRNN(np.eye(2), activation="nope"), ValueError,
                           "unknown activation"),
    "blas_threads": (lambda: _ls(_rnn(), blas_threads="many"), ValueError,
                     "blas_threads must be"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_names_the_argument(case):
    make, exc, match = BAD[case]
    with pytest.raises(exc, match=match):
        make()


def test_on_fail_is_checked_up_front():
    with pytest.raises(ValueError, match="method"):
        dyn.lyapunov_spectrum(dyn.random_rnn(5, 1.5, seed=0), n_steps=10, method="rk45")
    with pytest.raises(ValueError, match="on_fail"):
        dyn.lyapunov_spectrum(dyn.random_rnn(5, 0.5, seed=0), n_steps=5000, on_fail="loud")


@pytest.mark.parametrize("make", [
    lambda: dyn.DiscreteRNN(dyn.random_rnn(6, 1.8, seed=2).w,
                            inputs=np.random.default_rng(0).standard_normal((60, 6))),
    lambda: dyn.DeepMap(8, 2.0, 0.1, "tanh"),
], ids=["rnn-inputs", "deepmap"])
def test_auto_pilot_runs_on_a_copy(make):
    """The "auto" pilot must not advance the state, consume inputs or share the weights of
    the run: the run equals a run with the chosen interval fixed, bitwise."""
    system = make()
    auto = dyn.lyapunov_spectrum(system, n_steps=50, transient=10, on_fail="ignore")
    fixed = dyn.lyapunov_spectrum(system, n_steps=50, transient=10, qr_every=auto.qr_every,
                                  on_fail="ignore")
    assert np.all(np.isfinite(auto.exponents))
    np.testing.assert_array_equal(auto.exponents, fixed.exponents)
    np.testing.assert_array_equal(auto.state, fixed.state)


def test_inputs_are_read_within_their_rows():
    """12 steps with 12 input rows: rows beyond them (1e6 here) are never read."""
    w = dyn.random_rnn(4, 0.5, seed=0).w
    u = np.zeros((30, 4))
    u[12:] = 1e6
    res = dyn.lyapunov_spectrum(dyn.DiscreteRNN(w, inputs=u[:12].copy()), n_steps=12,
                                transient=0, on_fail="ignore")
    assert np.all(np.isfinite(res.exponents)) and np.all(np.abs(res.state) < 10)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_a_diverging_system_is_reported_not_returned_silently():
    """x -> x^2 from x0 = 3 overflows: a RuntimeWarning (or ConvergenceError) says so."""
    sq = dyn.MapSystem(lambda x: x * x, lambda x: np.diag(2.0 * x))
    with pytest.warns(RuntimeWarning, match="floating-point range"):
        res = dyn.lyapunov_spectrum(sq, x0=[3.0], n_steps=40, transient=0)
    assert not res.converged
    with pytest.raises(deeptheory.ConvergenceError, match="floating-point range"):
        dyn.lyapunov_spectrum(sq, x0=[3.0], n_steps=40, transient=0, on_fail="raise")
