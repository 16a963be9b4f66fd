"""progress= on the long loops: a tqdm bar on stderr, off by default, never a changed result."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from _equality import _equal  # noqa: E402

from deeptheory._progress import check_progress, progress_bar, progress_ranges


def test_disabled_bar_is_a_no_op_without_tqdm():
    code = ("import json, sys; from deeptheory._progress import progress_bar\n"
            "with progress_bar(10, 'x', False) as b:\n"
            "    b.update(3); b.set_postfix_str('y')\n"
            "print(json.dumps('tqdm' in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert json.loads(out.stdout.strip()) is False and out.stderr == ""


def test_enabled_bar_writes_to_stderr(capsys):
    with progress_bar(4, "demo", True, unit="pt") as bar:
        bar.update(4)
    assert "demo" in capsys.readouterr().err
    assert check_progress(np.bool_(True)) is True and check_progress(None) is False
    with pytest.raises(TypeError, match="progress"):
        check_progress("yes")


def test_progress_ranges_cover_the_range_once(capsys):
    assert list(progress_ranges(10)) == [(0, 10)]
    assert list(progress_ranges(0)) == []
    for total, n_chunks, min_size in ((10, 3, 1), (7, 50, 1), (100, 50, 8), (5, 2, 16)):
        blocks = list(progress_ranges(total, "blk", True, n_chunks=n_chunks, min_size=min_size))
        assert blocks[0][0] == 0 and blocks[-1][1] == total
        assert all(b[1] == c[0] for b, c in zip(blocks, blocks[1:], strict=False))
        assert all(b - a >= min(min_size, total) for a, b in blocks[:-1])
        assert len(blocks) <= n_chunks
    assert f"{total}/{total}" in capsys.readouterr().err


def test_spin_monte_carlo_progress_is_bitwise_the_same(capsys):
    import deeptheory.spinglass as sg

    sk = sg.sk_model(24, seed=1)
    for kw in (dict(beta=[0.5, 1.2], n_sweeps=300, record_configs=True),
               dict(beta=1.0, n_sweeps=240, burn_in=0, measure_every=3, track_minimum=True)):
        _equal(sg.metropolis(sk, **kw), sg.metropolis(sk, progress=True, **kw))
    h = sg.sample_hamiltonian(16, 3, seed=2)  # spherical: step adaptation during burn-in
    _equal(sg.metropolis(h, [1.0, 3.0], 800), sg.metropolis(h, [1.0, 3.0], 800, progress=True))
    b = [0.3, 0.7, 1.2]
    _equal(sg.parallel_tempering(sk, b, 400, swap_every=2),
           sg.parallel_tempering(sk, b, 400, swap_every=2, progress=True))
    _equal(sg.sk_ground_state_extrapolation([6, 8], n_samples=2, n_sweeps=64),
           sg.sk_ground_state_extrapolation([6, 8], n_samples=2, n_sweeps=64, progress=True))
    err = capsys.readouterr().err
    assert "metropolis" in err and "parallel_tempering" in err and "sweep" in err
    assert "sk_ground_state_extrapolation" in err and "4/4" in err


def test_trainers_progress_is_the_same(capsys):
    import deeptheory.dynamics as dyn
    import deeptheory.infotheory as it

    task = it.twelve_bit_task()
    a = it.train_mlp(task.x, task.y, epochs=20, n_record=4, seed=0)
    b = it.train_mlp(task.x, task.y, epochs=20, n_record=4, seed=0, progress=True)
    _equal(a.loss, b.loss)
    _equal(a.activity, b.activity)
    x, y = dyn.ring_data(48, seed=0)
    cfg = dyn.TrainConfig(epochs=10)
    m1 = dyn.train_ode_classifier(x, y, config=cfg)
    m2 = dyn.train_ode_classifier(x, y, config=cfg, progress=True)
    _equal(m1.history, m2.history)
    err = capsys.readouterr().err
    assert "train_mlp" in err and "train_ode_classifier" in err


def test_every_progress_argument_is_keyword_only_off_and_documented():
    import importlib
    import inspect

    found = []
    for mod in ("meanfield", "rmt", "spinglass", "dynamics", "infotheory", "sweep", "verify",
                "kernels"):
        m = importlib.import_module(f"deeptheory.{mod}")
        for name in m.__all__:
            f = getattr(m, name)
            if not callable(f) or inspect.isclass(f):
                continue
            p = inspect.signature(f).parameters.get("progress")
            if p is None:
                continue
            found.append(f"{mod}.{name}")
            assert p.kind is inspect.Parameter.KEYWORD_ONLY, name
            # phase_diagram takes a callable or True (its own row-block reporter)
            assert p.default is (None if name == "phase_diagram" else False), name
            assert "progress" in (f.__doc__ or ""), f"{name}: progress undocumented"
    assert len(found) >= 50, found
