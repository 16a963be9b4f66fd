"""Matplotlib figures of the spin-glass library: landscapes and statics.

Complexity of the spherical p-spin (Auffinger, Ben Arous & Cerny 2013): :func:`plot_complexity`.
Statics (Gibbs measures): Ising Monte Carlo against Onsager, Kaufman, Yang and the transfer
matrix (:func:`plot_ising_mc`); the SK model's paramagnet, RS, 1RSB and k-step Parisi
thermodynamics (Sherrington & Kirkpatrick 1975; Parisi 1979, 1980) with Monte Carlo points
(:func:`sk_theory_curves`, :func:`plot_sk_thermodynamics`), the de Almeida-Thouless line
(:func:`plot_sk_at_line`), the overlap distribution P(q) (:func:`plot_overlap_distribution`)
and the ground-state extrapolation (:func:`plot_ground_state_fit`); the spherical p-spin in
Crisanti-Sommers units (:func:`plot_spherical_statics`) and beside its complexity in ABC units
(:func:`plot_spherical_levels`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .._api import Result
from ._checks import check_k, check_p
from .complexity import e_inf, e_k, theta, theta_k

__all__ = [
    "MAX_PLOT_INDICES",
    "SKTheory",
    "plot_complexity",
    "plot_ground_state_fit",
    "plot_ising_mc",
    "plot_overlap_distribution",
    "plot_sk_at_line",
    "plot_sk_thermodynamics",
    "plot_spherical_levels",
    "plot_spherical_statics",
    "sk_theory_curves",
]

#: most index curves :func:`plot_complexity` draws.  Each curve costs ~1 ms (one colour-coded
#: line collection above 8 curves; before, one legend entry per curve made matplotlib's legend
#: placement quadratic: 60 curves ~4 s, 1000 curves did not finish).  More curves than this are
#: unreadable; the CLI's ``--max-index`` must stay below MAX_PLOT_INDICES.
MAX_PLOT_INDICES = 100
#: up to this many index curves get a legend entry each; more are coloured by k (colour bar)
_LEGEND_MAX = 8


def plot_complexity(p: int, ks: Any = (0, 1, 2, 5), ax: Any = None,
                    u_range: tuple[float, float] | None = None) -> Any:
    """Plot the complexities of the spherical p-spin model against the energy per site u.

        Theta_p(u)     = 1/2 log(p-1) - (p-2) u^2/(4(p-1)) - I_1(u)        (all indices),
        Theta_{k,p}(u) = 1/2 log(p-1) - (p-2) u^2/(4(p-1)) - (k+1) I_1(u)  (index k),

    for u <= -E_inf (Auffinger, Ben Arous & Cerny 2013, Theorems 2.5 and 2.8; see
    :func:`theta` and :func:`theta_k` for the other branches), with -E_0 and -E_inf marked.
    Zoomed near the bottom of the landscape by default, where the curves separate.  ``p`` is an
    integer >= 2; ``ks`` at most :data:`MAX_PLOT_INDICES` distinct integers >= 0 (checked
    before anything is drawn; ValueError above it).  Up to 8 curves get legend entries, more
    are coloured by k with a colour bar.  Returns the axes.
    """
    pp = check_p(p)
    if pp.ndim != 0:
        raise TypeError(f"p must be one integer >= 2, got {p!r}")
    kk = check_k(list(ks) if not np.isscalar(ks) else [ks]).ravel()
    if kk.size > MAX_PLOT_INDICES:
        raise ValueError(
            f"ks has {kk.size} index curves; plot_complexity draws at most "
            f"{MAX_PLOT_INDICES} (MAX_PLOT_INDICES, the curves would be unreadable); "
            "pick fewer k, e.g. ks=range(0, K, step)")
    p = int(pp)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    einf = float(e_inf(p))
    e0 = float(e_k(p, 0))
    lo, hi = u_range if u_range is not None else (-e0 - 0.02, -einf + 0.05)
    u = np.linspace(lo, hi, 600)
    ax.plot(u, theta(u, p), "k-", lw=2, label=r"$\Theta_p(u)$ (all indices)")
    curves = np.asarray(theta_k(u[None, :], p, kk[:, None])) if kk.size else np.empty((0, 600))
    if kk.size <= _LEGEND_MAX:
        for k, c in zip(kk, curves, strict=True):
            ax.plot(u, c, "-", lw=1, label=rf"$\Theta_{{{k},p}}(u)$")
    else:
        from matplotlib.collections import LineCollection

        segs = np.stack([np.broadcast_to(u, curves.shape), curves], axis=-1)
        lc = LineCollection(segs, array=kk.astype(float), cmap="viridis", lw=0.8)
        ax.add_collection(lc)
        ax.figure.colorbar(lc, ax=ax, label=r"index k of $\Theta_{k,p}$")
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.axvline(-einf, color="C3", ls=":", label=rf"$-E_\infty$ = {-einf:.5f}")
    ax.axvline(-e0, color="C0", ls="--", label=rf"$-E_0$ = {-e0:.5f}")
    ax.set_xlim(lo, hi)
    th = np.asarray(theta(u, p))
    ax.set_ylim(min(-0.002, float(th.min())), float(th.max()) * 1.1 + 1e-3)
    ax.set_xlabel("energy per site u = H/N")
    ax.set_ylabel("complexity [nats per site]")
    ax.set_title(f"spherical {p}-spin: complexity of critical points", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    return ax


# ============================================================================================
# statics: Gibbs measures of Ising, SK and spherical p-spin models


#: colours of the replica-theory curves (paramagnet, RS, 1RSB, k-step Parisi)
_THEORY_STYLE = {
    "para": dict(color="0.45", ls=":", lw=1.3),
    "rs": dict(color="C3", ls="--", lw=1.3),
    "1rsb": dict(color="C2", ls="-.", lw=1.3),
    "k": dict(color="k", ls="-", lw=1.6),
}


def _results(results: Any, what: str) -> list[tuple[int, Any]]:
    """``results`` as a sorted list of (L, SpinMCResult) from a mapping or a single result."""
    from .montecarlo import SpinMCResult

    if isinstance(results, SpinMCResult):
        raise TypeError(f"{what} must be a mapping {{size: SpinMCResult}}, got one "
                        "SpinMCResult; pass {L: result}")
    try:
        items = sorted((int(k), v) for k, v in dict(results).items())
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be a mapping {{size: SpinMCResult}}, got "
                        f"{type(results).__name__}") from exc
    if not items:
        raise ValueError(f"{what} is empty")
    for k, v in items:
        if not isinstance(v, SpinMCResult):
            raise TypeError(f"{what}[{k}] must be a SpinMCResult, got {type(v).__name__}")
    return items


def _t_grid(ts: np.ndarray, n: int = 240) -> np.ndarray:
    lo, hi = float(ts.min()), float(ts.max())
    pad = 0.03 * (hi - lo) if hi > lo else 0.05 * hi
    return np.linspace(max(lo - pad, 1e-3), hi + pad, n)


def plot_ising_mc(results: Any, dim: int = 2, J: float = 1.0, axes: Any = None) -> Any:
    """Monte Carlo of the nearest-neighbour Ising model against its exact solution.

    ``results``: a mapping {L: :class:`SpinMCResult`} of runs of :func:`metropolis` or
    :func:`parallel_tempering` on ``IsingLattice(L, dim, J)`` at h = 0 (each with
    N = L**dim spins; ValueError otherwise).  Three panels against T = 1/beta: the energy per
    spin, the specific heat beta^2 Var(H)/N and, for dim = 2, <|m|>; for dim = 1, <m^2>.
    Monte Carlo points carry their blocking standard errors.  Exact curves: dim = 2, Kaufman's
    finite L x L torus (1949; dashed, one per L, :func:`ising_2d_finite`) and the infinite
    lattice (Onsager 1944, :func:`onsager`; Yang's 1952 spontaneous magnetisation,
    :func:`yang_magnetisation`) with T_c marked; dim = 1, the transfer matrix of the ring of
    L spins (dashed) and of the infinite chain (Ising 1925, :func:`ising_1d`;
    <m^2> = chi / (beta L) from the susceptibility).  ``J`` > 0.
    ``axes``: three matplotlib axes (default: a new 1 x 3 figure).  Returns the axes.
    """
    from .exact import (
        ONSAGER_TC,
        ising_1d,
        ising_2d_finite,
        onsager,
        yang_magnetisation,
    )

    items = _results(results, "results")
    d = int(dim)
    if d not in (1, 2) or d != dim:
        raise ValueError(f"dim must be 1 or 2, got {dim!r}")
    jj = float(J)
    if not (np.isfinite(jj) and jj > 0):
        raise ValueError(f"J must be > 0 (a ferromagnet: the exact curves), got {J!r}")
    for L, r in items:
        if L < 2 or r.n_spins != L**d:
            raise ValueError(f"results[{L}] has N = {r.n_spins} spins, not L**{d} = {L**d}")
        if r.magnetisation is None:
            raise ValueError(f"results[{L}] is not an Ising-spin run (no magnetisation)")
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(14, 4))
    axes = list(np.ravel(axes))
    if len(axes) != 3:
        raise ValueError(f"axes must hold 3 axes, got {len(axes)}")
    all_t = np.concatenate([1.0 / r.betas[r.betas > 0] for _, r in items])
    t = _t_grid(all_t)
    b = 1.0 / t
    for i, (L, r) in enumerate(items):
        col = f"C{i}"
        keep = r.betas > 0
        tr = 1.0 / r.betas[keep]
        mval = r.magnetisation if d == 2 else r.m2
        for ax, est in zip(axes, (r.energy, r.specific_heat, mval), strict=True):
            ax.errorbar(tr, est.value[keep], yerr=est.stderr[keep], fmt="o", ms=3.5,
                        color=col, capsize=2, lw=1, label=f"Monte Carlo, L = {L}")
        if d == 2:
            ex = ising_2d_finite(b, L, J=jj)
            name = f"Kaufman, {L} x {L} (exact)"
            curves = (ex.energy, ex.specific_heat, None)
        else:
            ex = ising_1d(b, J=jj, L=L)
            name = f"transfer matrix, ring of {L} (exact)"
            # <m^2> = Var(M) / N^2 = chi / (beta N) at h = 0
            curves = (ex.energy, ex.specific_heat, ex.susceptibility / (b * L))
        for ax, y in zip(axes, curves, strict=True):
            if y is not None:
                ax.plot(t, y, "--", color=col, lw=1, label=name)
    if d == 2:
        inf = onsager(b, J=jj)
        with np.errstate(invalid="ignore"):
            inf_curves = (inf.energy, np.where(np.isfinite(inf.specific_heat),
                                               inf.specific_heat, np.nan),
                          yang_magnetisation(b, J=jj))
        names = ("Onsager (L = inf)", "Onsager (L = inf)", "Yang (L = inf)")
        tc = ONSAGER_TC * jj
        for ax in axes:
            ax.axvline(tc, color="0.6", lw=0.8, ls=":")
        axes[0].text(tc, 0.97, r" $T_c$", transform=axes[0].get_xaxis_transform(),
                     va="top", fontsize=8, color="0.4")
    else:
        inf = ising_1d(b, J=jj)
        inf_curves = (inf.energy, inf.specific_heat, None)
        names = ("infinite chain", "infinite chain", None)
    for ax, y, nm in zip(axes, inf_curves, names, strict=True):
        if y is not None:
            ax.plot(t, y, "k-", lw=1.4, label=nm)
    axes[0].set_ylabel("energy per spin <H>/N")
    axes[1].set_ylabel(r"specific heat $\beta^2$ Var(H)/N")
    axes[2].set_ylabel("<|m|>" if d == 2 else "<m^2>")
    if d == 2:
        cmax = max(float(np.nanmax(r.specific_heat.value + r.specific_heat.stderr))
                   for _, r in items)
        axes[1].set_ylim(0, 1.25 * cmax)
    what = f"{d}-D Ising, J = {jj:g}"
    for ax, q, loc in zip(axes, ("energy", "specific heat", "magnetisation"),
                          ("upper left", "best", "best"), strict=True):
        ax.set_xlabel("temperature T")
        ax.set_title(f"{what}: {q}", fontsize=9)
        ax.legend(fontsize=6.5, loc=loc)
    return axes


# --------------------------------------------------------------------------- SK theory


@dataclass(frozen=True)
class SKTheory(Result):
    """Replica theory of the SK model on a temperature grid, :func:`sk_theory_curves`.

    Per spin at h = 0 (J_ij ~ N(0, 1/N); arrays like ``T``): the paramagnet ``f_para`` =
    -T (ln 2 + beta^2/4), ``u_para`` = -beta/2 (nan at T = 0); replica symmetric ``f_rs``,
    ``u_rs``, ``q_rs``; one-step ``f_1rsb``, ``u_1rsb``; ``k``-step Parisi ``f_k``, ``u_k``,
    ``q_max`` (the largest overlap q_k, Edwards-Anderson) and the overlap moment
    ``q2_k`` = int q^2 P(q) dq = sum_l (m_{l+1} - m_l) q_l^2 (m_0 = 0, m_{k+1} = 1);
    ``q2_rs`` = q_rs^2.
    """

    T: np.ndarray
    k: int
    f_para: np.ndarray
    u_para: np.ndarray
    f_rs: np.ndarray
    u_rs: np.ndarray
    q_rs: np.ndarray
    q2_rs: np.ndarray
    f_1rsb: np.ndarray
    u_1rsb: np.ndarray
    q2_1rsb: np.ndarray
    f_k: np.ndarray
    u_k: np.ndarray
    q2_k: np.ndarray
    q_max: np.ndarray


def _q2(q: np.ndarray, m: np.ndarray) -> float:
    mm = np.concatenate([[0.0], np.asarray(m, float), [1.0]])
    return float(np.sum(np.diff(mm) * np.asarray(q, float) ** 2))


@lru_cache(maxsize=4096)
def _sk_point(t: float, k: int) -> tuple[float, ...]:
    from .parisi import sk_parisi
    from .replica import sk_rs_free_energy

    rs = sk_rs_free_energy(t)
    if t > 0:
        fp, up = -t * (np.log(2.0) + 0.25 / t**2), -0.5 / t
    else:
        fp = up = np.nan
    if t >= 1.0:  # replica symmetry is exact (de Almeida & Thouless 1978): no optimisation
        one = (float(rs.f), float(rs.energy), float(rs.q) ** 2)
        kk = (float(rs.f), float(rs.energy), float(rs.q) ** 2, float(rs.q))
    else:
        r1 = sk_parisi(t, 0.0, 1)
        one = (r1.f, r1.energy, _q2(r1.q, r1.m) if t > 0 else 1.0)
        if k == 1:
            rk = r1
        else:
            rk = sk_parisi(t, 0.0, k)
        kk = (rk.f, rk.energy, _q2(rk.q, rk.m) if t > 0 else 1.0, float(rk.q[-1]))
    return (fp, up, float(rs.f), float(rs.energy), float(rs.q), float(rs.q) ** 2, *one, *kk)


def sk_theory_curves(T: Any, k: int = 3) -> SKTheory:
    """Paramagnet, replica-symmetric, 1RSB and k-step Parisi thermodynamics of the SK model.

    Sherrington & Kirkpatrick (1975) and Parisi (1979, 1980) through :func:`sk_rs_free_energy`
    and :func:`sk_parisi` at h = 0, per spin, J_ij ~ N(0, 1/N).  Above T_c = 1 every solution
    is the paramagnet (-beta f = ln 2 + beta^2/4, u = -beta/2, q = 0).  ``T`` >= 0 (array;
    T = 0 gives the ground state, where the paramagnet is nan), ``k`` an integer in [1, 12].
    Values are cached per (T, k): the plotting functions and the command line reuse them.
    Cost: ~0.3 s (1RSB) + ~1 s (k = 3) per temperature below T_c on 2 cores.  Returns
    :class:`SKTheory`.
    """
    from .._validation import as_float, as_int

    t = as_float("T", T, lo=0.0)
    kk = as_int("k", k, lo=1, hi=12)
    flat = np.array([_sk_point(float(v), kk) for v in t.ravel()]).reshape(*t.shape, 13)
    cols = [flat[..., i] for i in range(13)]
    return SKTheory(t, kk, *cols)


_SK_LABELS = {"f": ("free energy per spin f", "f"), "energy": ("energy per spin u", "u"),
              "q2": ("<q^2> = int q^2 P(q) dq", "q2")}


def plot_sk_thermodynamics(quantity: str = "f", T: Any = None, k: int = 3, *, mc: Any = None,
                           difference: bool = False, ax: Any = None) -> Any:
    """SK free energy, energy or <q^2> against T: paramagnet, RS, 1RSB, k-step Parisi, Monte Carlo.

    Theory from :func:`sk_theory_curves` (Sherrington & Kirkpatrick 1975; Parisi 1979, 1980)
    on the grid ``T`` (default 0 to 1.6, 33 points); ``quantity`` "f" (free energy per spin),
    "energy" (u = <H>/N) or "q2" (<q^2> over the Parisi P(q); RS: q^2).  The paramagnet is
    drawn below T_c too (dotted: the annealed solution, wrong there).  ``mc``: optional mapping
    {label: (T, value, stderr)} of Monte Carlo estimates (e.g. thermodynamic integration,
    :func:`log_partition_ti`), drawn with error bars.  ``difference=True`` plots everything
    minus the k-step Parisi value at the same T (the theory is then also evaluated at the Monte
    Carlo temperatures).  ``k`` integer in [1, 12].  Returns the axes.
    """
    if quantity not in _SK_LABELS:
        raise ValueError(f"quantity must be one of {sorted(_SK_LABELS)}, got {quantity!r}")
    from .._validation import as_float

    t = np.linspace(0.0, 1.6, 33) if T is None else np.sort(as_float("T", T, lo=0.0).ravel())
    if t.size < 2:
        raise ValueError("T must hold at least 2 temperatures")
    pts = []
    if mc is not None:
        for lab, val in dict(mc).items():
            try:
                mt, mv, ms = (np.asarray(a, dtype=float).ravel() for a in val)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"mc[{lab!r}] must be (T, value, stderr) arrays") from exc
            if not (mt.shape == mv.shape == ms.shape):
                raise ValueError(f"mc[{lab!r}]: T, value and stderr must have one length")
            pts.append((str(lab), mt, mv, ms))
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    th = sk_theory_curves(t, k)
    key = {"f": "f", "energy": "u", "q2": "q2"}[quantity]
    series = {"para": getattr(th, f"{key}_para") if key != "q2" else np.zeros_like(t),
              "rs": getattr(th, f"{key}_rs"), "1rsb": getattr(th, f"{key}_1rsb"),
              "k": getattr(th, f"{key}_k")}
    ref = series["k"] if difference else 0.0
    names = {"para": "paramagnet (annealed)", "rs": "replica symmetric",
             "1rsb": "1RSB", "k": f"Parisi, {th.k}-step"}
    below = t < 1.0
    for name, y in series.items():
        st = dict(_THEORY_STYLE[name])
        ax.plot(t, y - ref, label=names[name], **st)
        if name == "para" and np.any(below):
            # the paramagnet above T_c is exact: draw it solid there
            ax.plot(t[~below], (y - ref)[~below], color=st["color"], lw=st["lw"])
    for i, (lab, mt, mv, ms) in enumerate(pts):
        yref = getattr(sk_theory_curves(mt, k), f"{key}_k") if difference else 0.0
        ax.errorbar(mt, mv - yref, yerr=ms, fmt="o", ms=3.5, capsize=2, lw=1,
                    color=f"C{(i + 4) % 10}", label=lab)
    ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
    ylab, _ = _SK_LABELS[quantity]
    ax.set_xlabel("temperature T")
    ax.set_ylabel(f"{ylab} - Parisi {th.k}-step" if difference else ylab)
    ax.set_title("SK model: " + ("difference from the Parisi solution" if difference
                                 else ylab), fontsize=9)
    ax.legend(fontsize=6.5)
    return ax


def plot_sk_at_line(h_max: float = 1.0, n_points: int = 40, ax: Any = None) -> Any:
    """The de Almeida-Thouless line T_AT(h) of the SK model in the (h, T) plane.

    de Almeida & Thouless (1978), :func:`sk_at_temperature`: replica symmetry holds above the
    line and is broken below it (shaded; Parisi 1979), T_AT(0) = 1 and
    T_AT ~ 1 - (3/4)^{1/3} h^{2/3} near h = 0 (dotted).  ``h_max`` > 0 (at most 3),
    ``n_points`` integer in [4, 400].  Returns the axes.
    """
    from .._validation import as_float, as_int
    from .replica import sk_at_temperature

    hm = float(as_float("h_max", h_max, lo=0.0, hi=3.0))
    if not hm > 0:
        raise ValueError(f"h_max must be > 0, got {h_max!r}")
    n = as_int("n_points", n_points, lo=4, hi=400)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    h = np.linspace(0.0, hm, n)
    tat = np.asarray(sk_at_temperature(h), dtype=float)
    ax.plot(h, tat, "k-", lw=1.6, label=r"$T_{AT}(h)$ (de Almeida-Thouless)")
    ax.fill_between(h, 0.0, tat, color="C0", alpha=0.15, label="replica symmetry broken")
    hs = np.linspace(0.0, min(hm, 0.5), 50)
    ax.plot(hs, 1.0 - 0.75 ** (1 / 3) * hs ** (2 / 3), ":", color="C3",
            label=r"$1 - (3/4)^{1/3} h^{2/3}$")
    ax.set_xlim(0, hm)
    ax.set_ylim(0, 1.15)
    ax.set_xlabel("field h")
    ax.set_ylabel("temperature T")
    ax.set_title("SK: the de Almeida-Thouless line", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    return ax


def plot_overlap_distribution(results: Any, k: int | None = None, *, k_rsb: int = 3,
                              theory: bool = True, ax: Any = None, label: str | None = None,
                              color: str = "C0") -> Any:
    """Disorder-averaged overlap distribution P(q) of Ising-spin Monte Carlo runs.

    ``results``: one :class:`SpinMCResult` or a sequence of them (one per disorder sample,
    same N and temperatures, each with ``n_copies`` >= 2), e.g. :func:`parallel_tempering`
    of :func:`sk_model` samples.  Each sample's histogram
    (:meth:`SpinMCResult.overlap_distribution`, Parisi 1983) at temperature index ``k``
    (default the lowest temperature) is averaged over the samples.  Marked at T = 1/beta_k:
    +-q of the replica-symmetric solution (Sherrington & Kirkpatrick 1975) and the smallest and
    largest overlaps q_0, q_k of the ``k_rsb``-step Parisi solution (Parisi 1979, 1980), whose
    P(q) has delta peaks at +-q_k and weight down to q_0 (full RSB: continuous down to 0);
    ``theory=False`` leaves them out (e.g. for a second system size on the same axes).
    ``color``: of the histogram.  Returns the axes.
    """
    from .montecarlo import SpinMCResult
    from .parisi import sk_parisi
    from .replica import sk_rs_free_energy

    rs_list = [results] if isinstance(results, SpinMCResult) else list(results)
    if not rs_list:
        raise ValueError("results is empty")
    for r in rs_list:
        if not isinstance(r, SpinMCResult):
            raise TypeError(f"results must be SpinMCResult objects, got {type(r).__name__}")
        if r.overlaps is None:
            raise ValueError("no overlaps recorded: run with n_copies >= 2")
        if r.magnetisation is None:
            raise ValueError("plot_overlap_distribution needs Ising spins (q = -1 .. 1 on N "
                             "values)")
    n, betas = rs_list[0].n_spins, rs_list[0].betas
    for r in rs_list[1:]:
        if r.n_spins != n or r.betas.shape != betas.shape or not np.allclose(r.betas, betas):
            raise ValueError("results must share N and the temperatures")
    kk = len(betas) - 1 if k is None else int(k)
    if not 0 <= kk < len(betas) or (k is not None and kk != k):
        raise ValueError(f"k must be an integer in [0, {len(betas) - 1}], got {k!r}")
    if not betas[kk] > 0:
        raise ValueError("the chosen temperature is infinite (beta = 0)")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    hists = [r.overlap_distribution(kk) for r in rs_list]
    edges = hists[0][0]
    dens = np.mean([hh[1] for hh in hists], axis=0)
    t = 1.0 / float(betas[kk])
    lab = label or f"Monte Carlo, N = {n}, {len(rs_list)} samples"
    ax.stairs(dens, edges, fill=True, alpha=0.3, color=color, label=lab)
    ax.stairs(dens, edges, lw=1, color=color)
    if theory:
        qrs = float(sk_rs_free_energy(t).q)
        ax.axvline(qrs, color="C3", ls="--", lw=1.2, label=f"replica symmetric q = {qrs:.3f}")
        ax.axvline(-qrs, color="C3", ls="--", lw=1.2)
    if theory and t < 1.0:
        pr = sk_parisi(t, 0.0, int(k_rsb))
        for q, st, nm in ((float(pr.q[-1]), "-", f"Parisi q_{pr.k} (q_EA) = {pr.q[-1]:.3f}"),
                          (float(pr.q[0]), ":", f"Parisi q_0 = {pr.q[0]:.3f}")):
            ax.axvline(q, color="k", ls=st, lw=1.2, label=nm)
            ax.axvline(-q, color="k", ls=st, lw=1.2)
    ax.set_xlim(-1, 1)
    ax.set_xlabel("overlap q = s^a . s^b / N")
    ax.set_ylabel("P(q)")
    ax.set_title(f"SK: overlap distribution at T = {t:.3g}", fontsize=9)
    ax.legend(fontsize=6.5, loc="upper center")
    return ax


def plot_ground_state_fit(fit: Any, ax: Any = None) -> Any:
    """SK ground-state energies e(N) against N^{-2/3} with the fit and the Parisi value.

    ``fit``: a :class:`GroundStateFit` from :func:`sk_ground_state_extrapolation`
    (parallel-tempering minima, Hukushima & Nemoto 1996): the disorder means with their
    standard errors, the weighted fit e(N) = e_inf + a N^{-exponent} extended to N = inf with
    e_inf +- its standard error, the full-RSB value -0.763166 (Parisi 1980; Crisanti & Rizzo
    2002) and the replica-symmetric -sqrt(2/pi) (Sherrington & Kirkpatrick 1975).  Returns
    the axes.
    """
    from .montecarlo import GroundStateFit
    from .parisi import SK_GROUND_STATE_PARISI
    from .replica import SK_GROUND_STATE_RS

    if not isinstance(fit, GroundStateFit):
        raise TypeError(f"fit must be a GroundStateFit, got {type(fit).__name__}")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4))
    x = fit.Ns.astype(float) ** (-fit.exponent)
    ex = "2/3" if abs(fit.exponent - 2.0 / 3.0) < 1e-12 else f"{fit.exponent:.3g}"
    xs = np.linspace(0.0, 1.05 * float(x.max()), 50)
    ax.plot(xs, fit.e_inf + fit.slope * xs, "-", color="C0", lw=1.2,
            label=f"fit e_inf + a N^(-{ex}): e_inf = {fit.e_inf:.4f} +- "
                  f"{fit.e_inf_stderr:.4f}")
    ax.errorbar(x, fit.e_mean, yerr=fit.e_stderr, fmt="o", color="C0", ms=4, capsize=2,
                label=f"parallel tempering, {fit.e_samples.shape[1]} samples per N")
    ax.errorbar([0.0], [fit.e_inf], yerr=[fit.e_inf_stderr], fmt="s", color="C0", ms=5,
                capsize=3)
    for xi, n, e in zip(x, fit.Ns, fit.e_mean, strict=True):
        ax.annotate(f"N = {n}", (xi, e), textcoords="offset points", xytext=(4, -11),
                    fontsize=7)
    ax.axhline(SK_GROUND_STATE_PARISI, color="k", lw=1.2,
               label=f"Parisi (full RSB) {SK_GROUND_STATE_PARISI}")
    ax.axhline(SK_GROUND_STATE_RS, color="C3", ls="--", lw=1.2,
               label=f"replica symmetric -sqrt(2/pi) = {SK_GROUND_STATE_RS:.4f}")
    ax.set_xlim(-0.03 * xs[-1], xs[-1])
    ax.set_xlabel(f"N^(-{ex})")
    ax.set_ylabel("ground-state energy per spin")
    ax.set_title("SK ground state: finite-size extrapolation", fontsize=9)
    ax.legend(fontsize=6.5, loc="lower right")
    return ax


def plot_spherical_statics(p: int = 3, axes: Any = None, T_max: float | None = None,
                           measure: str = "uniform") -> Any:
    """Statics of the spherical pure p-spin in Crisanti-Sommers units: f, u, q and m against T.

    Crisanti & Sommers (1992), :func:`spherical_1rsb` and :func:`spherical_rs_free_energy`:
    left, the free energy and the energy per spin of the equilibrium phase (paramagnet above
    T_s, 1RSB below) and of the paramagnet continued below T_s, with the static T_s
    (:func:`spherical_static_transition`) and dynamic T_d
    (:func:`spherical_dynamic_transition`) marked; right, the 1RSB overlap q and breakpoint m
    (q jumps from 0 to q_s at T_s, m = 1 there) and those of the threshold states below T_d
    (:func:`spherical_threshold`; Cugliandolo & Kurchan 1993: q jumps to q_d there).  Units:
    E[H H'] = (N/2) (s.s'/N)^p; ``measure`` of the entropy constant ("uniform": -beta f =
    beta^2/4 in the paramagnet; "lebesgue"); ``T_max`` default 1.6 T_d.  ``axes``: two axes
    (default a new 1 x 2 figure).  Returns the axes.
    """
    from .spherical_statics import (
        spherical_1rsb,
        spherical_dynamic_transition,
        spherical_rs_free_energy,
        spherical_static_transition,
        spherical_threshold,
    )

    pp = check_p(p)
    if pp.ndim != 0 or pp < 3:
        raise ValueError(f"p must be one integer >= 3 (a 1RSB transition), got {p!r}")
    p = int(pp)
    ts = spherical_static_transition(p)
    td = spherical_dynamic_transition(p)
    tmax = 1.6 * float(td.T) if T_max is None else float(T_max)
    if not (np.isfinite(tmax) and tmax > float(td.T)):
        raise ValueError(f"T_max must be above T_d = {float(td.T):.6g}, got {T_max!r}")
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes = list(np.ravel(axes))
    if len(axes) != 2:
        raise ValueError(f"axes must hold 2 axes, got {len(axes)}")
    t = np.unique(np.concatenate([np.linspace(0.0, tmax, 300), [ts.T, td.T]]))
    eq = spherical_1rsb(t, p, measure=measure)
    tp = t[t > 0]
    pa = spherical_rs_free_energy(tp, measure=measure)
    ax = axes[0]
    ax.plot(t, eq.f, "k-", lw=1.6, label="f, equilibrium (1RSB below T_s)")
    ax.plot(t, eq.energy, "-", color="C0", lw=1.6, label="u, equilibrium")
    lo = tp < float(ts.T)
    ax.plot(tp[lo], pa.f[lo], ":", color="k", lw=1.2, label="f, paramagnet continued")
    ax.plot(tp[lo], pa.energy[lo], ":", color="C0", lw=1.2, label="u, paramagnet continued")
    e_lo = float(np.min(eq.energy))
    ax.set_ylim(e_lo - 0.15 * abs(e_lo), max(float(np.max(eq.f)), float(np.max(eq.energy)))
                + 0.1)
    for ax_ in axes:
        ax_.axvline(float(ts.T), color="C3", ls="--", lw=1)
        ax_.axvline(float(td.T), color="C1", ls="--", lw=1)
    ax.text(float(ts.T), 0.02, f"T_s = {float(ts.T):.4f} ", ha="right", fontsize=7,
            color="C3", transform=ax.get_xaxis_transform())
    ax.text(float(td.T), 0.02, f" T_d = {float(td.T):.4f}", ha="left", fontsize=7,
            color="C1", transform=ax.get_xaxis_transform())
    ax.set_xlim(0, tmax)
    ax.set_xlabel("temperature T (Crisanti-Sommers units)")
    ax.set_ylabel("per spin")
    ax.set_title(f"spherical {p}-spin: free energy and energy ({measure} measure)",
                 fontsize=9)
    ax.legend(fontsize=6.5, loc="upper left")
    ax = axes[1]
    ax.plot(t, eq.q, "k-", lw=1.6, label="q, equilibrium")
    ax.plot(t[t < ts.T], eq.m[t < ts.T], "-", color="C2", lw=1.4, label="m, equilibrium")
    tt = t[t <= td.T]
    thr = spherical_threshold(tt, p)
    ax.plot(tt, thr.q, "--", color="C0", lw=1.4, label="q, threshold states")
    ax.plot(tt, thr.m, "--", color="C9", lw=1.2, label="m, threshold states")
    ax.plot([ts.T], [ts.q], "o", color="C3", ms=4)
    ax.plot([td.T], [td.q], "o", color="C1", ms=4)
    ax.set_xlim(0, tmax)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("temperature T (Crisanti-Sommers units)")
    ax.set_title(f"overlap q and breakpoint m: q_s = {float(ts.q):.4f}, q_d = "
                 f"{float(td.q):.4f}", fontsize=9)
    ax.legend(fontsize=6.5, loc="center right")
    return axes


def plot_spherical_levels(p: int = 3, axes: Any = None, u_range: Any = None) -> Any:
    """The statics of the spherical p-spin beside its landscape, in ABC units.

    Top: the complexity Theta_p(u) and Theta_{0,p}(u) of critical points (Auffinger, Ben Arous &
    Cerny 2013; :func:`theta`, :func:`theta_k`) with -E_0 and -E_inf.  Bottom, on the same
    energy axis: temperature against the energy per spin of the equilibrium phase
    (:func:`spherical_1rsb`: paramagnet u = -beta/2 above T_s, 1RSB below; Crisanti & Sommers
    1992) and of the threshold states below T_d (:func:`spherical_threshold`; Cugliandolo &
    Kurchan 1993), converted with :func:`cs_to_abc` (energies and temperatures x sqrt 2).  At
    T = 0 the 1RSB ground state reaches -E_0 and the threshold reaches -E_inf (marked).
    ``axes``: two axes, top and bottom (default a new figure, shared x); ``u_range`` (lo, hi)
    default (-E_0 - 0.03, energy of the paramagnet at 1.2 T_d).  Returns the axes.
    """
    from .spherical_statics import (
        cs_to_abc,
        spherical_1rsb,
        spherical_dynamic_transition,
        spherical_ground_state,
        spherical_static_transition,
        spherical_threshold,
    )

    pp = check_p(p)
    if pp.ndim != 0 or pp < 3:
        raise ValueError(f"p must be one integer >= 3, got {p!r}")
    p = int(pp)
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(5.5, 6), sharex=True)
    axes = list(np.ravel(axes))
    if len(axes) != 2:
        raise ValueError(f"axes must hold 2 axes, got {len(axes)}")
    einf, e0 = float(e_inf(p)), float(e_k(p, 0))
    ts = spherical_static_transition(p)
    td = spherical_dynamic_transition(p)
    tmax = 1.2 * float(td.T)
    if u_range is None:
        lo, hi = -e0 - 0.03, float(cs_to_abc(-0.5 / tmax))
    else:
        lo, hi = (float(v) for v in u_range)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"u_range must be (lo, hi) with lo < hi, got {u_range!r}")
    g0 = float(cs_to_abc(spherical_ground_state(p).energy))
    th0 = float(cs_to_abc(spherical_threshold(0.0, p).energy))
    ax = axes[0]
    u = np.linspace(lo, hi, 600)
    ax.plot(u, theta(u, p), "k-", lw=1.6, label=r"$\Theta_p(u)$, all critical points")
    ax.plot(u, theta_k(u, p, 0), "-", color="C0", lw=1.2, label=r"$\Theta_{0,p}(u)$, minima")
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.axvline(-e0, color="C0", ls="--", lw=1, label=rf"$-E_0$ = {-e0:.5f}")
    ax.axvline(-einf, color="C3", ls=":", lw=1.2, label=rf"$-E_\infty$ = {-einf:.5f}")
    ax.set_ylabel("complexity [nats per site]")
    ax.set_title(f"spherical {p}-spin, ABC units: complexity (top) and statics (bottom)",
                 fontsize=9)
    ax.legend(fontsize=6.5, loc="upper left")
    ax = axes[1]
    t = np.unique(np.concatenate([np.linspace(0.0, tmax, 400), [ts.T]]))
    eq = spherical_1rsb(t, p)
    ax.plot(cs_to_abc(eq.energy), cs_to_abc(t), "k-", lw=1.6,
            label="equilibrium energy (1RSB below T_s)")
    tt = np.linspace(0.0, float(td.T), 200)
    thr = spherical_threshold(tt, p)
    ax.plot(cs_to_abc(thr.energy), cs_to_abc(tt), "--", color="C3", lw=1.4,
            label="threshold states (aging dynamics)")
    ax.axhline(float(cs_to_abc(ts.T)), color="C3", lw=0.8, ls=":")
    ax.axhline(float(cs_to_abc(td.T)), color="C1", lw=0.8, ls=":")
    xl = lo + 0.3 * (hi - lo)
    ax.text(xl, float(cs_to_abc(ts.T)), f"T_s = {float(cs_to_abc(ts.T)):.4f}", ha="left",
            va="top", fontsize=7, color="C3")
    ax.text(xl, float(cs_to_abc(td.T)), f"T_d = {float(cs_to_abc(td.T)):.4f}", ha="left",
            va="bottom", fontsize=7, color="C1")
    ax.plot([g0], [0.0], "o", color="C0", ms=6, clip_on=False,
            label=f"1RSB ground state {g0:.5f}")
    ax.plot([th0], [0.0], "s", color="C3", ms=5, clip_on=False,
            label=f"threshold at T = 0: {th0:.5f}")
    ax.axvline(-e0, color="C0", ls="--", lw=1)
    ax.axvline(-einf, color="C3", ls=":", lw=1.2)
    ax.set_xlim(lo, hi)
    ax.set_ylim(0.0, float(cs_to_abc(tmax)))
    ax.set_xlabel("energy per spin u (ABC units: E[H H'] = N (s.s'/N)^p)")
    ax.set_ylabel("temperature T (ABC units)")
    ax.legend(fontsize=6.5, loc="lower right")
    return axes
