"""The built-in checks of :func:`deeptheory.verify.verify`, one function per check.

Each pillar is imported inside its check functions (``import deeptheory.verify`` stays light).
Allowance constants are module-level names; the module docstring of
:mod:`deeptheory.verify` states where each comes from.
"""

from __future__ import annotations

import math

import numpy as np

from .._api import Estimate
from ._core import CheckOutput, Comparison, Profile, Skip, VerifyConfig, register_check

NET = ("activation", "sigma_w2", "sigma_b2", "weights")

#: mean-field finite-width bias: B_MF * max(1, |theory|) / N (q^l, c^l, q*, chi_1, chi_c, c*, g^l)
B_MF = 3.0
#: relative error of the 4th-order finite-difference stencil of the curvature check
FD = 0.005
#: finite-width bias of kappa_l^2: BK * l / N relative
BK = 8.0
#: residual networks: 2 l / N relative (p^l, c^l); (L - l) / N relative (gradient growth)
B_RES = 2.0
#: NNGP/NTK: B_KER * (L - 1) / N * sqrt(K_ii K_jj)
B_KER = 2.0
#: Jacobian moments: B_M1 * L / N relative (m1), B_M2 * L / N relative (m2)
B_M1, B_M2 = 1.0, 4.0
#: the longest burn-in (layers) the fixed-point checks use; six depth scales must fit
MAX_BURN = 120


def _worst(quantity: str, x: np.ndarray, theory: np.ndarray, est: Estimate,
           allowance: np.ndarray, note: str = "", xname: str = "l") -> Comparison:
    """The point of a profile with the least margin, (|d| - allowance) / stderr largest: the
    profile passes (every point) iff this point passes, whatever k."""
    t = np.asarray(theory, float)
    m = np.asarray(est.value, float)
    s = np.asarray(est.stderr, float)
    a = np.broadcast_to(np.asarray(allowance, float), t.shape)
    d = np.abs(m - t) - a
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(s > 0, d / s, np.where(d > 0, np.inf, -np.inf))
    r = np.where(np.isfinite(m) & np.isfinite(t), r, np.inf)
    i = int(np.argmax(r))
    lab = f"{quantity}, worst of {xname}={x[0]}..{x[-1]}: {xname}={x[i]}" if len(x) > 1 else \
        f"{quantity}, {xname}={x[0]}"
    return Comparison(lab, float(t[i]), float(m[i]), float(s[i]), float(a[i]), int(est.n), note)


def _profile(title: str, x, theory, est: Estimate, allowance, xlabel: str = "layer l",
             log: bool = False) -> Profile:
    return Profile(title, np.asarray(x), np.asarray(theory, float), np.asarray(est.value, float),
                   np.asarray(est.stderr, float), xlabel,
                   np.broadcast_to(np.asarray(allowance, float), np.shape(theory)).copy(), log)


def _q_independent(activation: str) -> bool:
    """phi'^2 has the same law at every q (relu, linear, ...): chi_1 and the Jacobian
    spectrum then do not need the network to sit at q*."""
    from ..rmt import dphi_moment

    a = [float(dphi_moment(activation, q, k)) for k in (1, 2) for q in (0.5, 2.0)]
    return abs(a[0] - a[1]) <= 1e-12 * abs(a[0]) and abs(a[2] - a[3]) <= 1e-12 * abs(a[2])


def _net(cfg: VerifyConfig) -> tuple[str, float, float]:
    return cfg.activation, cfg.sigma_w2, cfg.sigma_b2


# ================================================================================ meanfield


@register_check("meanfield.layers", "meanfield", uses=NET + ("width", "depth", "n_samples",
                                                            "q0", "c0"),
                theory="meanfield.layer_recursion", simulation="meanfield.simulate_layers")
def layers(cfg: VerifyConfig, seed: int) -> CheckOutput:
    """q^l and c^l, l = 1..L, of two inputs (Poole et al. 2016, eqs. 3 and 5)."""
    import deeptheory.meanfield as mf

    act, sw2, sb2 = _net(cfg)
    L, N = cfg.depth, cfg.width
    th = mf.layer_recursion(sw2, sb2, L, act, q1_0=cfg.q0, c0=cfg.c0)
    sim = mf.simulate_layers(sw2, sb2, act, q0=cfg.q0, c0=cfg.c0, width=N, depth=L,
                             n_trials=cfg.n_samples, weights=cfg.weights, seed=seed)
    out = CheckOutput()
    ls = np.arange(1, L + 1)
    note = f"{cfg.n_samples} networks of width {N}; allowance {B_MF:g} max(1, |theory|) / N"
    for q, t, est in (("q^l", th.q1, sim.q1), ("c^l", th.c, sim.c)):
        a = B_MF * np.maximum(1.0, np.abs(t)) / N
        out.comparisons.append(_worst(q, ls, t, est, a, note))
        out.profiles.append(_profile(q, ls, t, est, a))
    return out


@register_check("meanfield.fixed_points", "meanfield", uses=NET + ("width", "depth", "n_samples"),
                theory="meanfield.q_star, chi1, chi_c, c_star",
                simulation="meanfield.simulate_q_star, simulate_chi1, simulate_chi_c, "
                           "simulate_c_star")
def fixed_points(cfg: VerifyConfig, seed: int) -> CheckOutput:
    """q*, chi_1, chi_c and (chaotic phase) c* measured after a burn-in of six depth scales
    (Poole et al. 2016; Schoenholz et al. 2017, eqs. 4-9)."""
    import deeptheory.meanfield as mf

    act, sw2, sb2 = _net(cfg)
    N, n, W = cfg.width, cfg.n_samples, cfg.depth
    kw = dict(width=N, n_trials=n, weights=cfg.weights, seed=seed)
    out = CheckOutput()
    qs = float(mf.q_star(sw2, sb2, act))
    finite = 0.0 < qs < math.inf
    slope = float(mf.q_map_slope(qs, sw2, sb2, act)) if finite else math.nan
    xi_q = -1.0 / math.log(slope) if finite and 0.0 < slope < 1.0 else (
        0.0 if finite and slope == 0.0 else math.inf)
    burn = max(W, math.ceil(6 * xi_q)) if math.isfinite(xi_q) else math.inf
    homog = _q_independent(act)

    def note(b: int) -> str:
        return (f"{n} networks of width {N}, layers {b + 1}..{b + W} after a burn-in of "
                f"{b} (>= 6 xi_q); allowance {B_MF:g} max(1, |theory|) / N")

    def allow(t: float) -> float:
        return B_MF * max(1.0, abs(t)) / N

    if finite:
        why_q = f"q^l converges over xi_q = {xi_q:.3g} layers (> {MAX_BURN} / 6)"
    elif abs(float(mf.q_map(1.0, sw2, sb2, act)) - 1.0) < 1e-12 and \
            abs(float(mf.q_map(2.0, sw2, sb2, act)) - 2.0) < 1e-12:
        why_q = "the length map is the identity, V(q) = q: every q is a fixed point"
    else:
        why_q = f"q* = {qs:g}: the length map has no finite positive fixed point"
    ok_q = finite and burn <= MAX_BURN
    if ok_q:
        t = float(mf.q_star(sw2, sb2, act))
        e = mf.simulate_q_star(sw2, sb2, act, depth=burn + W, burn_in=burn, **kw)
        out.comparisons.append(Comparison("q*", t, e.value, e.stderr, allow(t), e.n, note(burn)))
    else:
        out.skipped.append(("q*", why_q))
    if ok_q or homog:
        b = burn if ok_q else W
        t = float(mf.chi1(sw2, sb2, act))
        e = mf.simulate_chi1(sw2, sb2, act, depth=b + W, burn_in=b, **kw)
        nt = note(b) if ok_q else note(b).replace(" (>= 6 xi_q)", " (phi'^2 has the same "
                                                                   "law at every q)")
        out.comparisons.append(Comparison("chi_1", t, e.value, e.stderr, allow(t), e.n, nt))
    else:
        out.skipped.append(("chi_1", why_q))
    if ok_q:
        t = float(mf.chi_c(sw2, sb2, act))
        e = mf.simulate_chi_c(sw2, sb2, act, depth=burn + W, burn_in=burn, **kw)
        out.comparisons.append(Comparison("chi_c", t, e.value, e.stderr, allow(t), e.n,
                                          note(burn) + "; inputs start at (q*, c*)"))
        cs = float(mf.c_star(sw2, sb2, act))
        if cs < 1.0 - 1e-9:
            xi_c = float(mf.xi_c(sw2, sb2, act))
            b = max(burn, math.ceil(6 * xi_c))
            if b <= MAX_BURN:
                e = mf.simulate_c_star(sw2, sb2, act, c0=0.5, depth=b + W, burn_in=b, **kw)
                out.comparisons.append(Comparison("c*", cs, e.value, e.stderr, allow(cs), e.n,
                                                  note(b).replace("xi_q", "xi_q, xi_c")
                                                  + "; inputs start at c = 0.5"))
            else:
                out.skipped.append(("c*", f"c^l converges over xi_c = {xi_c:.3g} layers"))
        else:
            out.skipped.append(("c*", "c* = 1 (ordered or critical phase); the approach of c^l "
                                      "to 1 is the c^l profile of meanfield.layers"))
    else:
        out.skipped.append(("chi_c", why_q))
    return out


@register_check("meanfield.curvature", "meanfield", uses=NET + ("width", "n_samples",
                                                               "curvature_depth",
                                                               "curvature_points"),
                theory="meanfield.curvature", simulation="meanfield.simulate_curvature")
def curvature(cfg: VerifyConfig, seed: int) -> CheckOutput:
    """Length element g^l and squared curvature kappa_l^2 of a great circle on the q* sphere
    (Poole et al. 2016, eqs. 9-10)."""
    import deeptheory.meanfield as mf

    act, sw2, sb2 = _net(cfg)
    try:
        mf.chi2(sw2, sb2, act)
    except ValueError:
        raise Skip(f"chi_2 = inf (phi'' of {act} contains a Dirac delta): the curvature "
                   "recursion does not apply") from None
    qs = float(mf.q_star(sw2, sb2, act))
    if not 0.0 < qs < math.inf:
        raise Skip(f"q* = {qs:g}: the input circle needs 0 < q* < inf")
    L, N = cfg.curvature_depth, cfg.width
    sim = mf.simulate_curvature(sw2, sb2, act, depth=L, width=N, n_points=cfg.curvature_points,
                                n_trials=cfg.n_samples, weights=cfg.weights, seed=seed)
    th = mf.curvature(sw2, sb2, L, act, g0=sim.q0, kappa2_0=1.0 / sim.q0)
    ls = np.arange(1, L + 1)
    out = CheckOutput()
    base = f"{cfg.n_samples} networks of width {N}, {cfg.curvature_points} points on the circle"
    for q, t, est, a, what in (
        ("g^l", th.g[1:], sim.g, (B_MF / N + FD) * np.abs(th.g[1:]),
         f"({B_MF:g} / N + {FD:g}) |theory|"),
        ("kappa^2_l", th.kappa2[1:], sim.kappa2, (BK * ls / N + FD) * np.abs(th.kappa2[1:]),
         f"({BK:g} l / N + {FD:g}) |theory|"),
    ):
        e = Estimate(np.asarray(est.value)[1:], np.asarray(est.stderr)[1:], est.n)
        out.comparisons.append(_worst(q, ls, t, e, a, f"{base}; allowance {what}"))
        out.profiles.append(_profile(q, ls, t, e, a))
    return out


@register_check("meanfield.resnet", "meanfield", uses=NET + ("width", "depth", "n_samples",
                                                            "q0", "c0"),
                theory="meanfield.resnet_recursion", simulation="meanfield.simulate_resnet")
def resnet(cfg: VerifyConfig, seed: int) -> CheckOutput:
    """Reduced residual network x^l = x^{l-1} + alpha phi(W x^{l-1} + b), alpha = 1/sqrt(L):
    stream length p^l, correlation c^l, gradient growth (Yang & Schoenholz 2017; Hayou et
    al. 2021)."""
    import deeptheory.meanfield as mf

    act, sw2, sb2 = _net(cfg)
    L, N = cfg.depth, cfg.width
    kw = dict(depth=L, alpha="1/sqrt(L)", kind="reduced", p0=cfg.q0, c0=cfg.c0)
    th = mf.resnet_recursion(sw2, sb2, act, **kw)
    sim = mf.simulate_resnet(sw2, sb2, act, width=N, n_trials=cfg.n_samples,
                             weights=cfg.weights, seed=seed, **kw)
    out = CheckOutput()
    ls = np.arange(1, L + 1)
    base = f"{cfg.n_samples} networks of width {N}, alpha = 1/sqrt(L)"

    def tail(est: Estimate, sl: slice) -> Estimate:
        return Estimate(np.asarray(est.value)[sl], np.asarray(est.stderr)[sl], est.n)

    for q, t, est, a, what, x in (
        ("p^l", th.p1[1:], tail(sim.p, slice(1, None)), B_RES * ls / N * np.abs(th.p1[1:]),
         f"{B_RES:g} l / N |theory|", ls),
        ("c^l", th.c[1:], tail(sim.c, slice(1, None)), B_RES * ls / N * np.abs(th.c[1:]),
         f"{B_RES:g} l / N |theory|", ls),
        ("|g^l|^2 / |g^L|^2", th.grad_growth[:-1], tail(sim.grad_growth, slice(0, -1)),
         (L - ls + 1) / N * np.abs(th.grad_growth[:-1]), "(L - l) / N |theory|", ls - 1),
    ):
        out.comparisons.append(_worst(q, x, t, est, a, f"{base}; allowance {what}"))
        out.profiles.append(_profile(q, x, t, est, a))
    return out


#: the inputs of the kernel check (rows; |x|^2 / d = 1; cosines 0.6, -0.5, 0.3)
KERNEL_INPUTS = np.array([[2.0, 0.0, 0.0, 0.0], [1.2, 1.6, 0.0, 0.0],
                          [-1.0, 0.0, math.sqrt(3.0), 0.0]])


@register_check("meanfield.kernels", "meanfield", uses=("activation", "sigma_w2", "sigma_b2",
                                                       "width", "n_samples", "kernel_depth",
                                                       "q0"),
                theory="meanfield.network_kernels",
                simulation="meanfield.empirical_nngp, empirical_ntk")
def kernels(cfg: VerifyConfig, seed: int) -> CheckOutput:
    """NNGP (Neal 1996; Lee et al. 2018) and NTK (Jacot et al. 2018) of three inputs against
    the mean kernels of sampled networks (NTK parameterisation, Gaussian weights)."""
    import deeptheory.meanfield as mf

    act, sw2, sb2 = _net(cfg)
    L, N = cfg.kernel_depth, cfg.width
    x = KERNEL_INPUTS * math.sqrt(cfg.q0)
    kw = dict(depth=L, sigma_w2=sw2, sigma_b2=sb2, activation=act)
    th = mf.network_kernels(x, **kw)
    iu = np.triu_indices(len(x))
    labels = np.array([f"({i + 1},{j + 1})" for i, j in zip(*iu, strict=True)])
    out = CheckOutput()
    for q, emp, t in (("NNGP K(x_i, x_j)", mf.empirical_nngp, th.nngp),
                      ("NTK Theta(x_i, x_j)", mf.empirical_ntk, th.ntk)):
        est = emp(x, width=N, n_networks=cfg.n_samples, seed=seed, **kw)
        scale = np.sqrt(np.outer(np.diag(t), np.diag(t)))[iu]
        a = B_KER * (L - 1) / N * scale
        e = Estimate(np.asarray(est.value)[iu], np.asarray(est.stderr)[iu], est.n)
        note = (f"{cfg.n_samples} networks of width {N}, {L} hidden layers; allowance "
                f"{B_KER:g} (L - 1) / N sqrt(K_ii K_jj)")
        out.comparisons.append(_worst(q, labels, t[iu], e, a, note, xname="entry"))
        out.profiles.append(_profile(q, labels, t[iu], e, a, xlabel="entry (i,j)"))
    return out


# ================================================================================ rmt


def _expected_max_normal(L: int) -> float:
    """E[max of L independent standard normals]."""
    if L == 1:
        return 0.0
    from scipy.integrate import quad
    from scipy.stats import norm

    return float(quad(lambda t: t * L * norm.pdf(t) * norm.cdf(t) ** (L - 1), -12, 12)[0])


@register_check("rmt.jacobian", "rmt", uses=NET + ("jacobian_width", "jacobian_depth",
                                                  "jacobian_samples"),
                theory="rmt.jacobian_moments, jacobian_cdf",
                simulation="rmt.sample_jacobian_singular_values")
def jacobian(cfg: VerifyConfig, seed: int) -> CheckOutput:
    """Moments m1, m2 and the distribution of the eigenvalues of J J^T (Pennington,
    Schoenholz & Ganguli 2017, 2018) against sampled networks at q*."""
    import deeptheory.meanfield as mf
    import deeptheory.rmt as rmt

    act, sw2, sb2 = _net(cfg)
    L, N, n, w = cfg.jacobian_depth, cfg.jacobian_width, cfg.jacobian_samples, cfg.weights
    qs = float(mf.q_star(sw2, sb2, act))
    if not math.isfinite(qs) and not _q_independent(act):
        raise Skip(f"q* = {qs:g}: the layers have no finite fixed point to sit at")
    ev = rmt.sample_jacobian_singular_values(sw2, sb2, L, act, width=N, weights=w, n_trials=n,
                                             seed=seed)
    m = rmt.jacobian_moments(sw2, sb2, L, act, w)
    out = CheckOutput()
    base = f"{n} networks of width {N}, depth {L}"
    for q, t, samples, c in (("m1 = <lambda>", float(m.m1), ev.mean(axis=1), B_M1),
                             ("m2 = <lambda^2>", float(m.m2), (ev**2).mean(axis=1), B_M2)):
        e = Estimate.from_samples(samples)
        out.comparisons.append(Comparison(q, t, e.value, e.stderr, c * L / N * abs(t), e.n,
                                          f"{base}; allowance {c:g} L / N |theory|"))
    # Kolmogorov-Smirnov distance to the limiting law (atoms included)
    flat = ev.ravel()
    total = flat.size
    p0 = sum(mass for loc, mass in rmt.jacobian_atoms(sw2, sb2, L, act, w) if loc == 0.0)
    # with an atom at 0 (exact rank deficit) the zero eigenvalues come out ~1e-30 lambda_max
    zero = flat <= 1e-12 * flat.max() if p0 > 0 else np.zeros(total, bool)
    k0 = int(zero.sum())
    nz = np.sort(flat[~zero])
    pts = np.quantile(nz, (np.arange(64) + 0.5) / 64)
    pts = pts[pts > 1e-20 * nz[-1]]  # an SVD resolves only ~1e-16 of the largest value
    F = np.asarray(rmt.jacobian_cdf(pts, sw2, sb2, L, act, w), float)
    emp = (k0 + np.searchsorted(nz, pts, side="right")) / total
    ks = max(abs(k0 / total - p0), float(np.max(np.abs(emp - F))))
    # DKW: P(KS > eps) <= 2 exp(-2 n eps^2); eps at the level of k = 4 Gaussian standard
    # errors (2 Phi(-4) = 6.3e-5) is reported as 4 "standard errors"
    alpha = math.erfc(4.0 / math.sqrt(2.0))
    se = math.sqrt(math.log(2.0 / alpha) / (2.0 * total)) / 4.0
    allow = 2.0 / N
    what = "2 / N"
    if p0 > 0:  # the rank of J is min_l (active units of layer l): O(N^-1/2) atom fluctuation
        p = 1.0 - p0
        allow += math.sqrt(p * (1.0 - p) / N) * (_expected_max_normal(L) + 1.0)
        what += " + sqrt(p (1 - p) / N) (E max_L z + 1) (rank fluctuation of the atom)"
    out.comparisons.append(Comparison(
        "KS distance of the J J^T spectrum", 0.0, ks, se, allow, total,
        f"{base}, {total} eigenvalues at {pts.size} quantiles; stderr = DKW bound at level "
        f"2 Phi(-4) / 4; allowance {what}"))
    out.profiles.append(Profile("CDF of J J^T eigenvalues", pts, F, emp, np.full_like(F, se),
                                "lambda", np.full_like(F, allow), log=True))
    return out


# ================================================================================ dynamics


@register_check("dynamics.lyapunov", "dynamics", uses=NET + ("lyapunov_width", "lyapunov_steps"),
                theory="dynamics.rnn_max_exponent (1/2 ln chi_1)",
                simulation="dynamics.lyapunov_spectrum(DeepMap)")
def lyapunov(cfg: VerifyConfig, seed: int) -> CheckOutput:
    """Largest Lyapunov exponent of the depth map with fresh weights per layer against the
    mean-field 1/2 ln chi_1 (Schoenholz et al. 2017; Pennington et al. 2018)."""
    import deeptheory.dynamics as dyn
    import deeptheory.meanfield as mf
    import deeptheory.rmt as rmt

    act, sw2, sb2 = _net(cfg)
    N = cfg.lyapunov_width
    if sw2 == 0.0:
        raise Skip("sigma_w2 = 0: the exponent is -inf")
    qs = float(mf.q_star(sw2, sb2, act))
    homog = _q_independent(act)
    if not math.isfinite(qs) and not homog:
        raise Skip(f"q* = {qs:g}: the pre-activations grow without bound")
    if homog and (qs == 0.0 or not math.isfinite(qs)):
        qs = 1.0  # phi'^2 has the same law at every q > 0; q* = 0 or inf is degenerate
    mu1 = float(rmt.dphi_moment(act, qs, 1))
    mu2 = float(rmt.dphi_moment(act, qs, 2))
    s_1 = -1.0 if cfg.weights == "gaussian" else 0.0
    allow = (3.0 * mu2 / mu1**2 - 3.0 - 2.0 * s_1) / (4.0 * N)
    res = dyn.lyapunov_spectrum(dyn.DeepMap(N, sw2, sb2, act, cfg.weights),
                                n_steps=cfg.lyapunov_steps, k=1, seed=seed, on_fail="ignore")
    t = float(dyn.rnn_max_exponent(math.sqrt(sw2), sb2, act))
    return CheckOutput([Comparison(
        "lambda_max (nats per layer)", t, float(res.exponents[0]), float(res.stderr[0]), allow,
        len(res.times),
        f"width {N}, {cfg.lyapunov_steps} layers, batch-means stderr; allowance "
        f"(3 mu2/mu1^2 - 3 - 2 s_1) / (4N), the leading finite-N offset")])


# ================================================================================ spinglass


@register_check("spinglass.critical_points", "spinglass",
                uses=("spin_n", "spin_p", "spin_samples", "spin_starts"),
                theory="spinglass.expected_critical_points",
                simulation="spinglass.critical_points(sample_hamiltonian)")
def critical_points(cfg: VerifyConfig, seed: int) -> CheckOutput:
    """Mean number of critical points of each index of a spherical p-spin Hamiltonian at
    small N: exact Kac-Rice count (Auffinger, Ben Arous & Cerny 2013) against multistart
    Newton on sampled Hamiltonians."""
    import deeptheory.spinglass as sg

    N, p, S = cfg.spin_n, cfg.spin_p, cfg.spin_samples
    counts = np.array([sg.critical_points(sg.sample_hamiltonian(N, p, seed + i),
                                          cfg.spin_starts, seed + S + i).counts()
                       for i in range(S)], float)
    note = (f"{S} Hamiltonians, N = {N}, p = {p}, {cfg.spin_starts} Newton starts each "
            "(a missed basin can only undercount)")
    out = CheckOutput()
    th = np.array([float(sg.expected_critical_points(N, p, k)) for k in range(N)])
    e = Estimate.from_samples(counts)
    for k in range(N):
        out.comparisons.append(Comparison(f"E Crt (index {k})", th[k], float(e.value[k]),
                                          float(e.stderr[k]), 0.0, S, note))
    tot = Estimate.from_samples(counts.sum(axis=1))
    out.comparisons.append(Comparison("E Crt (all indices)",
                                      float(sg.expected_critical_points(N, p)),
                                      tot.value, tot.stderr, 0.0, S, note))
    out.profiles.append(_profile("E Crt by index", np.arange(N), th, e, 0.0, xlabel="index k"))
    return out


@register_check("spinglass.kac_rice", "spinglass", uses=("goe_n", "spin_p", "goe_samples"),
                theory="spinglass.expected_critical_points (exact)",
                simulation="spinglass.expected_critical_points_mc (GOE)")
def kac_rice(cfg: VerifyConfig, seed: int) -> CheckOutput:
    """Finite-N Kac-Rice formula of Auffinger, Ben Arous & Cerny 2013: the exact ordered-GOE
    integral against its Monte Carlo over sampled GOE matrices (minima and all indices)."""
    import deeptheory.spinglass as sg

    N, p, S = cfg.goe_n, cfg.spin_p, cfg.goe_samples
    out = CheckOutput()
    for q, k in (("E Crt_N (minima)", 0), ("E Crt_N (all indices)", None)):
        e = sg.expected_critical_points_mc(N, p, k, n_samples=S, seed=seed)
        t = float(sg.expected_critical_points(N, p, k))
        out.comparisons.append(Comparison(q, t, e.value, e.stderr, 0.0, e.n,
                                          f"N = {N}, p = {p}, {S} GOE matrices"))
    return out


@register_check("spinglass.gibbs", "spinglass", uses=("sk_n", "sk_betas", "mc_sweeps"),
                theory="spinglass.enumerate_gibbs", simulation="spinglass.metropolis")
def gibbs(cfg: VerifyConfig, seed: int) -> CheckOutput:
    """Gibbs averages of one SK sample (Sherrington & Kirkpatrick 1975): exact enumeration of
    all 2^N states against Metropolis chains (Metropolis et al. 1953)."""
    import deeptheory.spinglass as sg

    model = sg.sk_model(cfg.sk_n, seed=seed)
    betas = np.asarray(cfg.sk_betas, float)
    ex = sg.enumerate_gibbs(model, betas, correlations=False)
    r = sg.metropolis(model, betas, cfg.mc_sweeps, 4, seed=seed + 1)
    out = CheckOutput()
    conv = np.atleast_1d(r.converged)
    for q, est, t in (("<H>/N", r.energy, ex.energy),
                      ("C = beta^2 Var(H)/N", r.specific_heat, ex.specific_heat),
                      ("<m^2>", r.m2, ex.m2)):
        v, s, t = (np.atleast_1d(np.asarray(a, float)) for a in (est.value, est.stderr, t))
        for i, b in enumerate(betas):
            note = (f"SK N = {cfg.sk_n}, 4 chains x {cfg.mc_sweeps} sweeps, blocking stderr"
                    + ("" if conv[i] else "; blocking plateau not reached"))
            out.comparisons.append(Comparison(f"{q} at beta={b:g}", float(t[i]), float(v[i]),
                                              float(s[i]), 0.0, int(est.n), note))
        out.profiles.append(Profile(q, betas, t, v, s, "beta"))
    return out


# ================================================================================ infotheory


@register_check("infotheory.ksg", "infotheory",
                uses=("info_samples", "info_repeats", "info_rho"),
                theory="infotheory.gaussian_mi_bivariate", simulation="infotheory.ksg_mi")
def ksg(cfg: VerifyConfig, seed: int) -> CheckOutput:
    """KSG k-NN estimate (Kraskov, Stoegbauer & Grassberger 2004, algorithm 1, k = 3) of
    I(X;Y) for a bivariate Gaussian, -1/2 ln(1 - rho^2), over independent data sets."""
    import deeptheory.infotheory as it

    rng = np.random.default_rng(seed)
    rho, n, R = cfg.info_rho, cfg.info_samples, cfg.info_repeats
    vals = []
    for r in range(R):
        x = rng.standard_normal(n)
        y = rho * x + math.sqrt(1.0 - rho * rho) * rng.standard_normal(n)
        vals.append(it.ksg_mi(x, y, k=3, seed=seed + r))
    e = Estimate.from_samples(np.array(vals))
    return CheckOutput([Comparison(f"I(X;Y), Gaussian rho={rho:g} (nats)",
                                   float(it.gaussian_mi_bivariate(rho)), e.value, e.stderr, 0.0,
                                   e.n, f"{R} data sets of {n} points")])


#: a 4 x 4 noisy channel: X uniform, Y = X with probability 0.7, else one of the others
PLUGIN_PXY = (np.full((4, 4), 0.1) + np.eye(4) * 0.6) / 4.0


@register_check("infotheory.plugin", "infotheory", uses=("info_samples", "info_repeats"),
                theory="infotheory.mutual_information (exact)",
                simulation="infotheory.discrete_mi (plug-in)")
def plugin(cfg: VerifyConfig, seed: int) -> CheckOutput:
    """Plug-in estimate of I(X;Y) from samples of a 4 x 4 channel against the exact value;
    its leading bias is (|X| - 1)(|Y| - 1) / (2N) (Miller 1955; Paninski 2003)."""
    import deeptheory.infotheory as it

    rng = np.random.default_rng(seed)
    n, R = cfg.info_samples, cfg.info_repeats
    p = PLUGIN_PXY.ravel()
    vals = []
    for _ in range(R):
        idx = rng.choice(p.size, size=n, p=p)
        vals.append(it.discrete_mi(idx // 4, idx % 4))
    e = Estimate.from_samples(np.array(vals))
    return CheckOutput([Comparison("I(X;Y), 4x4 channel (nats)",
                                   float(it.mutual_information(PLUGIN_PXY)), e.value, e.stderr,
                                   9.0 / (2.0 * n), e.n,
                                   f"{R} data sets of {n} samples; allowance "
                                   "(|X|-1)(|Y|-1)/(2N), the Miller-Madow bias")])
