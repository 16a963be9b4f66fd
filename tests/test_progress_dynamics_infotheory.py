"""progress= on the long loops of dynamics and infotheory: a tqdm bar on stderr named after
the function, off by default, a TypeError for a non-boolean, and never a changed result
(bitwise, including the blocked compiled runs of the diffusion sampler, the KDE rows and
the KSG queries)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _equality import _equal  # noqa: E402

import deeptheory.dynamics as dyn  # noqa: E402
import deeptheory.infotheory as it  # noqa: E402
from deeptheory.kernels._threads import forced  # noqa: E402

# the modules (a package attribute of the same name may be a function)
dif, games, game_dynamics, optimizers = (
    importlib.import_module(f"deeptheory.dynamics.{m}")
    for m in ("diffusion", "games", "game_dynamics", "optimizers"))
bottleneck, kde, plane, ksg = (importlib.import_module(f"deeptheory.infotheory.{m}")
                               for m in ("bottleneck", "kde", "plane", "_ksg"))


def _check(capsys, f, *args, name=None, **kw):
    """f(*args, **kw) with and without progress: bitwise equal, the bar named on stderr,
    nothing on stderr without it, and progress="yes" a TypeError."""
    capsys.readouterr()
    a = f(*args, **kw)
    assert capsys.readouterr().err == ""
    b = f(*args, progress=True, **kw)
    _equal(a, b)
    assert (name or f.__name__) in capsys.readouterr().err
    with pytest.raises(TypeError, match="progress"):
        f(*args, progress="yes", **kw)
    return a


def _mixture():
    return dif.GaussianMixture([0.3, 0.7], [[-2.0, 0.0], [2.0, 1.0]],
                               [np.eye(2), [[1.0, 0.3], [0.3, 0.5]]])


# ------------------------------------------------------------------------- diffusion


@pytest.mark.parametrize("kind", ["vp", "brownian"])
def test_probability_flow_sample(capsys, kind):
    mix, proc = _mixture(), dif.ForwardProcess(kind, T=1.0)
    # exact score: 203 points in about 50 blocks (the last one short)
    for method, ns in (("rk4", 12), ("euler", 20), ("dopri5", None)):
        _check(capsys, dif.probability_flow_sample, mix, proc, 203, method=method,
               n_steps=ns, seed=3)

    # a user score: a bar of the score evaluations
    def score(y, t):
        return dif.marginal_score(mix, y, t, proc)

    for method, ns in (("rk4", 8), ("dopri5", None)):
        _check(capsys, dif.probability_flow_sample, mix, proc, 40, method=method,
               n_steps=ns, seed=1, score=score)


def test_probability_flow_sample_blocks_on_both_drivers(capsys):
    mix = _mixture()
    ref = dif.probability_flow_sample(mix, None, 150, n_steps=10, seed=2)
    for mode in ("serial", "parallel"):
        with forced(mode):
            _equal(ref, dif.probability_flow_sample(mix, None, 150, n_steps=10, seed=2,
                                                    progress=True))
    assert "150/150" in capsys.readouterr().err


def test_reverse_sde_sample_and_compare(capsys):
    mix = _mixture()
    proc = dif.ForwardProcess("vp")
    r = _check(capsys, dif.reverse_sde_sample, mix, proc, 120, n_steps=30, seed=1)
    _check(capsys, dif.reverse_sde_sample, mix, proc, 40, n_steps=10, seed=1,
           score=lambda y, t: dif.marginal_score(mix, y, t, proc))
    _check(capsys, dif.compare_to_target, r.samples, r.target, n_ref=3, seed=2)


# ----------------------------------------------------------------- optimisers, games


def _quad_grad(x):
    return np.array([1.0, 10.0]) * x


@pytest.mark.parametrize("f,args", [
    (optimizers.gradient_descent, (0.05,)),
    (optimizers.heavy_ball, (0.05, 0.5)),
    (optimizers.nesterov, (0.05,)),
])
def test_optimizers(capsys, f, args):
    _check(capsys, f, _quad_grad, np.array([1.0, 1.0]), *args, n_steps=60,
           loss=lambda x: 0.5 * float(np.sum(np.array([1.0, 10.0]) * x * x)))


@pytest.mark.parametrize("f", [game_dynamics.simultaneous_gd, game_dynamics.alternating_gd,
                               game_dynamics.extragradient, game_dynamics.optimistic_gd])
def test_game_runners(capsys, f):
    g = games.BilinearGame(1.0)
    _check(capsys, f, g.field, 1.0, 1.0, 0.1, 80)


def test_sga_and_a_diverging_run(capsys):
    g = games.BilinearGame(1.0)
    _check(capsys, game_dynamics.sga_gd, g.field, g.jacobian, 1.0, 1.0, 0.1, 50)
    # a run stopped by divergence closes its bar early and returns the same trajectory
    _check(capsys, game_dynamics.simultaneous_gd, g.field, 1.0, 1.0, 0.5, 400, max_norm=5.0,
           on_fail="ignore")


def test_sgd_phases(capsys):
    # sgd_phases shows the bars of the trainer and of the information plane
    _check(capsys, dyn.sgd_phases, "tanh", epochs=4, n_record=3, name="train_mlp")


# ------------------------------------------------------------------------ infotheory


def test_kde_bounds(capsys):
    rng = np.random.default_rng(0)
    h = rng.standard_normal((301, 3))
    y = rng.integers(0, 3, 301)
    _check(capsys, kde.kde_mi_upper, h, 0.1)
    _check(capsys, kde.kde_mi_lower, h, 0.1, base=2)
    _check(capsys, kde.pairwise_mi_bounds, h, 0.1)
    _check(capsys, kde.kde_mi_ty, h, y, 0.1)
    # the blocks on the thread pool give the same rows as the single serial call
    with forced("serial"):
        a = kde.kde_mi_upper(h, 0.1)
    with forced("parallel"):
        _equal(a, kde.kde_mi_upper(h, 0.1, progress=True))


@pytest.mark.parametrize("dims,alg", [((1, 1), 1), ((1, 1), 2), ((2, 3), 1), ((2, 3), 2)])
def test_ksg(capsys, dims, alg):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2000, dims[0]))
    y = x[:, :1] + rng.standard_normal((2000, dims[1]))
    _check(capsys, ksg.ksg_mi, x, y, algorithm=alg)
    # threaded blocks (workers=2 on a forced pool) give the same counts
    with forced("parallel"):
        _equal(ksg.ksg_mi(x, y, algorithm=alg), ksg.ksg_mi(x, y, algorithm=alg, workers=2,
                                                            progress=True))
    assert "6000/6000" in capsys.readouterr().err


def test_ib(capsys):
    pxy = np.array([[0.2, 0.05], [0.1, 0.15], [0.05, 0.2], [0.15, 0.1]])
    _check(capsys, bottleneck.information_bottleneck, pxy, 4.0, 3, n_restarts=1,
           max_iter=2000, on_fail="ignore")
    _check(capsys, bottleneck.ib_curve, pxy, [1.5, 3.0, 6.0], 3, max_iter=2000,
           on_fail="ignore")


def test_information_plane(capsys):
    task = it.twelve_bit_task()
    x, y = task.x[::16], task.y[::16]  # 256 of the 4096 patterns
    run = it.train_mlp(x, y, epochs=3, n_record=3, seed=0, batch_size=64)
    _check(capsys, plane.information_plane, run, y)
    _check(capsys, plane.information_plane, run, y, estimator="kde")


def test_public_names_take_progress():
    import inspect

    names = [dyn.probability_flow_sample, dyn.reverse_sde_sample, dyn.compare_to_target,
             dyn.gradient_descent, dyn.heavy_ball, dyn.nesterov, dyn.simultaneous_gd,
             dyn.alternating_gd, dyn.extragradient, dyn.optimistic_gd, dyn.sga_gd,
             dyn.sgd_phases, it.kde_mi_upper, it.kde_mi_lower, it.kde_mi_ty,
             it.pairwise_mi_bounds, it.ksg_mi, it.information_bottleneck, it.ib_curve,
             it.information_plane]
    for f in names:
        p = inspect.signature(f).parameters["progress"]
        assert p.kind is p.KEYWORD_ONLY and p.default is False, f.__name__
        assert "progress : " in f.__doc__, f.__name__
