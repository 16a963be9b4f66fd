"""Figures of the diffusion-model part of ``deeptheory.dynamics`` (issue 14): the artists
hold the data they were given (the generated points, the target's highest-density
contours, trajectories, errors against steps and the fitted orders) and bad input is a
clear error."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from deeptheory.dynamics.diffusion import (  # noqa: E402
    FlowOrder,
    ForwardProcess,
    GaussianMixture,
    probability_flow_sample,
)
from deeptheory.dynamics.plotting import (  # noqa: E402
    FLOW_COLOURS,
    HDR_MASSES,
    plot_diffusion_samples,
    plot_flow_order,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _by_gid(artists, gid):
    return [a for a in artists if a.get_gid() == gid]


def _ring(k=4, r=2.0, var=0.1):
    ang = 2 * np.pi * np.arange(k) / k
    means = r * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    return GaussianMixture(np.full(k, 1.0 / k), means, np.repeat(var * np.eye(2)[None], k, 0))


MIX = _ring()


def _contour(ax):
    cs = [c for c in ax.get_children() if getattr(c, "get_gid", lambda: None)() == "target"]
    assert len(cs) == 1
    return cs[0]


# ------------------------------------------------------------------------ samples


def test_samples_array_scatter_and_hdr_contours():
    x = MIX.sample(300, seed=1)
    x[5] = np.nan  # a failed point is left out
    ax = plot_diffusion_samples(x, MIX, n_show=None)
    sc, = _by_gid(ax.collections, "samples")
    np.testing.assert_array_equal(sc.get_offsets(), np.delete(x, 5, axis=0))
    cs = _contour(ax)
    lev = np.asarray(cs.levels)
    assert lev.size == len(HDR_MASSES) and np.all(np.diff(lev) > 0)
    # the levels enclose the stated masses: fraction of independent exact draws above each
    # (levels from 20000 draws, checked on 40000 more: 4 binomial standard deviations)
    q = np.sort(HDR_MASSES)[::-1]  # ascending levels hold descending masses
    lp = MIX.log_density(MIX.sample(40000, seed=9))
    frac = np.array([(lp >= c).mean() for c in lev])
    np.testing.assert_array_less(np.abs(frac - q), 4 * np.sqrt(q * (1 - q) * 1.5 / 20000))
    # equal isotropic, well separated components (9 sd apart): -ln p + ln(w/(2 pi s2)) is
    # Exp(1) under p, so c_q = ln(w/(2 pi s2)) + ln(1 - q); the sample quantile's sd is
    # sqrt(q / ((1 - q) n))
    want = np.log(0.25 / (2 * np.pi * 0.1)) + np.log(1 - q)
    np.testing.assert_array_less(np.abs(lev - want), 4 * np.sqrt(q / ((1 - q) * 20000)))
    # the whole 99.9 % region and every point are inside the limits, equal aspect
    lo, hi = np.array([ax.get_xlim(), ax.get_ylim()]).T
    assert np.all(np.delete(x, 5, axis=0) >= lo) and np.all(np.delete(x, 5, axis=0) <= hi)
    assert lo[0] < -2.5 and hi[0] > 2.5 and ax.get_aspect() == 1.0
    labels = ax.get_legend().get_texts()
    assert any(t.get_text() == "target: 50, 90, 99 % density regions" for t in labels)
    ax2 = plot_diffusion_samples(x, MIX, target_label="p_T", label="draws")
    assert [t.get_text() for t in ax2.get_legend().get_texts()] == [
        "draws", "p_T: 50, 90, 99 % density regions"]


def test_diffusion_samples_result_subset_title_and_target():
    proc = ForwardProcess("vp")
    res = probability_flow_sample(MIX, proc, 500, n_steps=20, seed=3)
    ax = plot_diffusion_samples(res, n_show=100, seed=4, color="C2")
    sc, = _by_gid(ax.collections, "samples")
    off = np.asarray(sc.get_offsets())
    assert off.shape == (100, 2)
    # a seeded subset of the rows, in their original order
    rows = [int(np.nonzero(np.all(res.samples == p, axis=1))[0][0]) for p in off]
    assert rows == sorted(rows) and len(set(rows)) == 100
    assert to_rgba(sc.get_facecolor()[0], 1) == to_rgba("C2")
    t = ax.get_title()
    assert "probability-flow ODE" in t and "RK4" in t and "20 steps" in t and "0.001" in t
    # the default target is the result's exact p_t0
    lev = np.asarray(_contour(ax).levels)
    np.testing.assert_array_equal(lev, _contour(plot_diffusion_samples(
        res.samples, res.target, seed=4)).levels)
    assert not np.allclose(lev, _contour(plot_diffusion_samples(res.samples, MIX,
                                                                seed=4)).levels)
    # no target: no contours; no legend on request
    ax2 = plot_diffusion_samples(res.samples, legend_loc=None)
    assert not [c for c in ax2.get_children() if getattr(c, "get_gid", lambda: 0)() == "target"]
    assert ax2.get_legend() is None


def test_paths_lines_and_end_markers():
    rng = np.random.default_rng(0)
    paths = np.cumsum(rng.standard_normal((6, 3, 2)) * 0.3, axis=0)
    ax = plot_diffusion_samples(MIX.sample(50, 1), MIX, paths=paths)
    lines = _by_gid(ax.lines, "path")
    assert len(lines) == 3
    for i, ln in enumerate(lines):
        np.testing.assert_array_equal(ln.get_xdata(), paths[:, i, 0])
        np.testing.assert_array_equal(ln.get_ydata(), paths[:, i, 1])
    start, = _by_gid(ax.collections, "path_start")
    end, = _by_gid(ax.collections, "path_end")
    np.testing.assert_array_equal(start.get_offsets(), paths[0])
    np.testing.assert_array_equal(end.get_offsets(), paths[-1])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "trajectories" in texts and "first point" in texts and "last point" in texts


def test_diffusion_samples_bad_input():
    with pytest.raises(ValueError, match=r"samples must have shape \(n, 2\)"):
        plot_diffusion_samples(np.zeros((5, 3)))
    three = GaussianMixture([1.0], np.zeros((1, 3)), np.eye(3)[None])
    with pytest.raises(ValueError, match="target must be 2-D"):
        plot_diffusion_samples(np.zeros((5, 2)), three)
    with pytest.raises(TypeError, match="target must be a GaussianMixture"):
        plot_diffusion_samples(np.zeros((5, 2)), "mix")
    with pytest.raises(ValueError, match="paths must have shape"):
        plot_diffusion_samples(np.zeros((5, 2)), paths=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="masses must lie in"):
        plot_diffusion_samples(np.zeros((5, 2)), MIX, masses=(0.5, 1.0))
    with pytest.raises(ValueError, match="n_show"):
        plot_diffusion_samples(np.zeros((5, 2)), n_show=0)


# --------------------------------------------------------------------- flow order


def _order(method, p, c=2.0, steps=(8, 16, 32, 64)):
    st = np.array(steps)
    err = c * st.astype(float) ** (-p)
    return FlowOrder(steps=st, errors=err, order=float(p), order_finest=float(p) + 0.01,
                     order_change=0.02, expected=1 if method == "euler" else 4,
                     method=method, reference="dopri5 rtol 1e-12", points=10)


def test_flow_order_markers_fit_lines_and_legend():
    eu, rk = _order("euler", 1.0, 3.0), _order("rk4", 4.0, 50.0)
    eu2 = _order("euler", 1.02, 1.0, steps=(16, 32, 64))
    eu2.errors[1] = 0.0  # left out
    ax = plot_flow_order(eu, rk, eu2, labels=["VP", "VP", "dy = dW"])
    pts = _by_gid(ax.lines, "errors")
    fits = _by_gid(ax.lines, "fit")
    assert len(pts) == 3 and len(fits) == 3
    np.testing.assert_array_equal(pts[0].get_xdata(), eu.steps)
    np.testing.assert_array_equal(pts[0].get_ydata(), eu.errors)
    np.testing.assert_array_equal(pts[2].get_xdata(), [16, 64])
    # exact power laws: the fitted line passes through every point
    for o, f in zip((eu, rk), fits[:2], strict=True):
        np.testing.assert_allclose(f.get_xdata(), [o.steps.min(), o.steps.max()])
        np.testing.assert_allclose(f.get_ydata(), [o.errors[0], o.errors[-1]], rtol=1e-12)
    assert to_rgba(pts[0].get_color()) == to_rgba(FLOW_COLOURS["euler"])
    assert to_rgba(pts[1].get_color()) == to_rgba(FLOW_COLOURS["rk4"])
    assert to_rgba(pts[2].get_color()) not in (to_rgba("C0"), to_rgba("C1"))
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "VP, Euler" in texts and "dy = dW, Euler" in texts and "VP, RK4" in texts
    assert any("p = 4.00" in t and "4.01" in t and "theory 4" in t for t in texts)


def test_flow_order_bad_input():
    with pytest.raises(ValueError, match="at least one FlowOrder"):
        plot_flow_order()
    with pytest.raises(TypeError, match="argument 0 must be a FlowOrder"):
        plot_flow_order(np.arange(4))
    with pytest.raises(ValueError, match="labels"):
        plot_flow_order(_order("rk4", 4.0), labels=["a", "b"])
    bad = _order("rk4", 4.0)._replace(errors=np.ones(3))
    with pytest.raises(ValueError, match="same length"):
        plot_flow_order(bad)
