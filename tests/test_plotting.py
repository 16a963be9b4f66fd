"""``plot_phase_diagram``: non-finite points get their own colours, signed values a
diverging scale, clipping is declared.  Checked on the rendered RGBA pixels."""

from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import deeptheory.meanfield as mf  # noqa: E402
from deeptheory.meanfield.plotting import SPECIAL_COLOURS, plot_phase_diagram  # noqa: E402


def _synthetic(z: np.ndarray):
    """A relu phase diagram (cheap, exact) whose xi_c is replaced by ``z``."""
    nb, nw = z.shape
    pd = mf.phase_diagram(np.linspace(0.5, 3.5, nw), np.linspace(0.0, 1.0, nb), "relu")
    return dataclasses.replace(pd, xi_c=z)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _render(pd, quantity="xi_c", **kw):
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    plot_phase_diagram(pd, quantity, ax=ax, **kw)
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba()).astype(float) / 255.0
    return fig, ax, rgba


def _pixel(fig, ax, rgba, pd, i, j):
    """RGBA of the rendered cell (row i: sigma_b2[i], column j: sigma_w2[j])."""
    x, y = ax.transData.transform((pd.sigma_w2[j], pd.sigma_b2[i]))
    h = rgba.shape[0]
    return rgba[int(round(h - y)), int(round(x))]


def _grid():
    rng = np.random.default_rng(0)
    z = rng.uniform(-50.0, 200.0, size=(7, 9))
    z[1, 1] = np.inf
    z[3, 2] = -np.inf  # (column 4, sigma_w2 = 2, carries the relu chi_1 = 1 lines)
    z[5, 6] = np.nan
    z[2, 7] = 1e6  # far beyond the 98th percentile: clipped
    return z


def test_special_values_have_distinct_colours_in_the_image(tmp_path):
    z = _grid()
    pd = _synthetic(z)
    fig, ax, rgba = _render(pd)
    got = {key: _pixel(fig, ax, rgba, pd, *ij)
           for key, ij in (("posinf", (1, 1)), ("neginf", (3, 2)), ("nan", (5, 6)))}
    for key, px in got.items():
        np.testing.assert_allclose(px, SPECIAL_COLOURS[key], atol=2 / 255, err_msg=key)
    # the three differ from each other and from every finite cell's colour
    finite_px = np.array([_pixel(fig, ax, rgba, pd, i, j) for i in range(7) for j in range(9)
                          if np.isfinite(z[i, j])])
    for key, px in got.items():
        assert np.min(np.abs(finite_px - px).sum(axis=1)) > 0.1, key
    fig.savefig(tmp_path / "special.png")


def test_negative_values_are_shown_on_a_diverging_scale_centred_at_zero():
    z = _grid()
    pd = _synthetic(z)
    fig, ax, rgba = _render(pd)
    mesh = ax.collections[0]
    norm = mesh.norm
    assert norm.vmin < 0 < norm.vmax and norm.vmin == -norm.vmax
    # a negative and a positive cell of equal |value| are drawn in different colours,
    # and the negative one is not the colour of 0 (the old vmin = 0 painted both alike)
    assert float(norm(-10.0)) < float(norm(0.0)) < float(norm(10.0))
    neg = np.argwhere(np.isfinite(z) & (z < -20))[0]
    pos = np.argwhere(np.isfinite(z) & (z > 20) & (z < 200))[0]
    assert np.abs(_pixel(fig, ax, rgba, pd, *neg) - _pixel(fig, ax, rgba, pd, *pos)).sum() > 0.3


def test_clipping_is_declared_by_extend_and_legend():
    z = _grid()
    pd = _synthetic(z)
    fig, ax, _ = _render(pd)
    cbar = ax.collections[0].colorbar
    finite = z[np.isfinite(z)]
    hi = np.percentile(np.abs(finite), 98)
    assert (finite > hi).any()
    assert cbar.extend in ("max", "both")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("clipped" in t and str(int((finite > hi).sum())) in t for t in labels)
    assert any(t.startswith("failed (NaN): 1") for t in labels)
    assert any(t.startswith("+inf: 1") for t in labels)
    assert any(t.startswith("-inf: 1") for t in labels)


def test_positive_values_over_decades_use_a_log_scale():
    from matplotlib.colors import LogNorm

    z = np.geomspace(0.1, 1e3, 7 * 9).reshape(7, 9)
    fig, ax, _ = _render(_synthetic(z), clip_percentile=100)
    assert isinstance(ax.collections[0].norm, LogNorm)
    assert ax.collections[0].colorbar.extend == "neither"
    assert not any("clipped" in t.get_text() for t in ax.get_legend().get_texts())


def test_bad_arguments():
    pd = _synthetic(_grid())
    with pytest.raises(ValueError, match="clip_percentile"):
        plot_phase_diagram(pd, clip_percentile=0)
    with pytest.raises(ValueError, match="quantity"):
        plot_phase_diagram(dataclasses.replace(pd, chi2=None), "chi2")
    plt.close("all")


def test_plot_lambda_max_draws_the_mean_field_line_and_samples():
    """The theory line is rnn_max_exponent on the drawn grid (ln g below g = 1); the
    critical gain is a vertical line at 1 (tanh); samples get 2-standard-error bars."""
    import deeptheory.dynamics as dyn

    g = np.array([0.5, 1.0, 2.0])
    ax = dyn.plot_lambda_max(g, samples={"N = 100": ([-0.69, 0.0, 0.14], [0.01, 0.02, 0.03])})
    x, y = ax.lines[0].get_data()
    np.testing.assert_allclose(y, dyn.rnn_max_exponent(x), rtol=0, atol=1e-12)
    below = x < 0.99
    np.testing.assert_allclose(y[below], np.log(x[below]), atol=1e-9)
    vertical = [ln for ln in ax.lines if np.ptp(ln.get_xdata()) == 0 and ln.get_xdata()[0] > 0]
    assert vertical and vertical[0].get_xdata()[0] == pytest.approx(1.0, abs=1e-9)
    bars = ax.containers[0]
    segs = bars.lines[2][0].get_segments()
    np.testing.assert_allclose([s[1, 1] - s[0, 1] for s in segs], [0.04, 0.08, 0.12])
    with pytest.raises(ValueError, match="gains"):
        dyn.plot_lambda_max([-1.0, 2.0])
