"""Command line, audit fixes: every argument checked before computing, --version, the
help text, expressions as activations, variance range, run-time limits and progress,
one default per option, the module docstring."""

from __future__ import annotations

import argparse
import inspect
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import deeptheory
from deeptheory import cli
from deeptheory.cli import _common, _dynamics, _meanfield, _rmt, _spinglass, build_parser, main


def _forbid(monkeypatch, *targets):
    """Make the named library functions fail loudly: the command must not reach them."""
    import importlib

    for target in targets:
        mod, name = target.rsplit(".", 1)

        def boom(*a, _t=target, **k):
            raise AssertionError(f"{_t} called before the arguments were checked")

        monkeypatch.setattr(importlib.import_module(mod), name, boom)


HEAVY = ("deeptheory.meanfield.phase_diagram", "deeptheory.meanfield.q_star",
         "deeptheory.meanfield.critical_line", "deeptheory.rmt.jacobian_moments",
         "deeptheory.rmt.sample_jacobian_singular_values", "deeptheory.infotheory.train_mlp",
         "deeptheory.infotheory.twelve_bit_task", "deeptheory.spinglass.e_k",
         "deeptheory.spinglass.plot_complexity", "deeptheory.dynamics.random_rnn",
         "deeptheory.dynamics.lyapunov_spectrum")


@pytest.mark.parametrize("argv, words", [
    (["jacobian-spectrum", "--out", "x.txt"], ["--out", ".txt", ".png"]),
    (["info-plane", "--out", "x.npz"], ["--out", ".npz", ".png"]),
    (["phase-diagram", "--grid", "4", "--out", "x.txt"], ["--out", ".txt"]),
    (["complexity", "--out", "x"], ["--out", "no extension"]),
    (["jacobian-spectrum", "--out", "."], ["--out"]),
    (["jacobian-spectrum", "--out", "sub"], ["--out", "no extension"]),
    (["jacobian-spectrum", "--out", "dir.png"], ["--out", "is a directory"]),
    (["jacobian-spectrum", "--out", "nodir/x.png"], ["--out", "does not exist"]),
    (["info-plane", "--seed", "-1", "--out", "x.png"], ["--seed", "[0, 2^63 - 1]"]),
    (["info-plane", "--seed", str(2**64), "--out", "x.png"], ["--seed"]),
    (["jacobian-spectrum", "--seed", "-1", "--out", "x.png"], ["--seed", "[0, 2^63 - 1]"]),
    (["jacobian-spectrum", "--seed", "1.5", "--out", "x.png"], ["--seed", "integer"]),
    (["jacobian-spectrum", "--width", "1", "--out", "x.png"], ["--width"]),
    (["jacobian-spectrum", "--sigma-w2", "0", "--out", "x.png"], ["--sigma-w2"]),
    (["jacobian-spectrum", "--sigma-w2", "inf", "--out", "x.png"], ["--sigma-w2"]),
    (["phase-diagram", "--sw2-min", "3", "--sw2-max", "2", "--out", "x.png"], ["--sw2-min"]),
    (["phase-diagram", "--dpi", "100000", "--out", "x.png"], ["--dpi"]),
    (["phase-diagram", "--sb2-max", "1e300", "--out", "x.png"], ["--sb2-max", "(0, 10000]"]),
    (["info-plane", "--records", "100000", "--out", "x.png"], ["--records"]),
    (["info-plane", "--activation", "relu", "--out", "x.png", "--epochs", "-3"], ["--epochs"]),
    (["meanfield", "--sigma-w2", "1e308", "--sigma-b2", "0"], ["--sigma-w2", "[0, 10000]"]),
    (["meanfield", "--sigma-w2", "1", "--sigma-b2", "1e20"], ["--sigma-b2", "[0, 10000]"]),
    (["meanfield", "--activation", "relu", "--sigma-w2", "1e5", "--sigma-b2", "0"],
     ["--sigma-w2"]),
    (["lyapunov", "--out", "x.txt"], ["--out", ".txt", ".png"]),
    (["lyapunov", "--gain", "1e3", "--out", "x.png"], ["--gain", "(0, 100]"]),
    (["lyapunov", "--gain", "nan", "--out", "x.png"], ["--gain"]),
    (["lyapunov", "--width", "200", "--k", "201", "--out", "x.png"], ["--k", "--width"]),
    (["lyapunov", "--width", "100000", "--out", "x.png"], ["--width"]),
    (["lyapunov", "--steps", "100", "--qr-every", "101", "--out", "x.png"],
     ["--qr-every", "--steps"]),
    (["lyapunov", "--qr-every", "sometimes", "--out", "x.png"], ["--qr-every", "auto"]),
    (["lyapunov", "--seed", "-1", "--out", "x.png"], ["--seed", "[0, 2^63 - 1]"]),
    (["lyapunov", "--sigma-b2", "-1", "--out", "x.png"], ["--sigma-b2"]),
])
def test_arguments_are_checked_before_any_computation(tmp_path, monkeypatch, capsys, argv,
                                                      words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "dir.png").mkdir()
    _forbid(monkeypatch, *HEAVY)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and "Warning" not in err
    for w in words:
        assert w in err, (w, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.png", "sub"]


def test_meanfield_overflow_names_no_internal_variable(capsys):
    """Issue: --sigma-w2 1e308 printed overflow warnings, then 'c must be finite'."""
    assert main(["meanfield", "--sigma-w2", "1e308", "--sigma-b2", "0"]) == 2
    err = capsys.readouterr().err
    assert "c must be" not in err and "overflow" not in err
    assert f"{cli.VARIANCE_MAX:g}" in err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only directories")
def test_unwritable_directory_is_a_usage_error(tmp_path, monkeypatch, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    _forbid(monkeypatch, *HEAVY)
    try:
        assert main(["complexity", "--out", str(ro / "c.png")]) == 2
    finally:
        ro.chmod(0o700)
    assert "not writable" in capsys.readouterr().err


def test_other_matplotlib_formats_are_written(tmp_path, capsys):
    out = tmp_path / "relu.svg"
    assert main(["phase-diagram", "--activation", "relu", "--grid", "3", "--out",
                 str(out)]) == 0
    text = out.read_text()
    assert "<svg" in text[:2000]


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"deeptheory {deeptheory.__version__}"


def test_info_plane_help_says_80_percent(capsys):
    assert main(["info-plane", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "80% of the 4096 patterns" in out
    assert "%%" not in out


def test_expression_activation_matches_closed_form():
    """phi = tanh(x) + 0.1 x: phi(0) = 0, phi'(0) = 1.1, so at sigma_b2 = 0 in the ordered
    phase q* = 0 and chi_1 = sigma_w2 phi'(0)^2 = 1.21 sigma_w2; the critical line starts
    at 1 / 1.21.  Run in a fresh interpreter, as a user would."""
    r = subprocess.run(
        [sys.executable, "-m", "deeptheory.cli", "meanfield", "--activation",
         "tanh(x) + 0.1*x", "--sigma-w2", "0.5", "--sigma-b2", "0"],
        capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    vals = {}
    for line in r.stdout.splitlines():
        if "=" in line:
            k, _, v = line.partition("=")
            vals[k.strip()] = v.strip()
    assert float(vals["chi_1"]) == pytest.approx(0.5 * 1.21, rel=1e-9)
    assert float(vals["q*"]) == pytest.approx(0.0, abs=1e-12)
    crit = r.stdout.rsplit(":", 1)[1]
    assert float(crit) == pytest.approx(1 / 1.21, rel=1e-6)
    assert "activation=tanh(x)+0.1*x" in r.stdout
    assert "Warning" not in r.stderr


@pytest.mark.parametrize("expr, word", [
    ("tanh(x", "neither a known activation nor a usable expression"),
    ("y + x", "neither a known activation nor a usable expression"),
    ("nosuch", "unknown activation"),
])
def test_bad_expression_is_a_usage_error(monkeypatch, capsys, expr, word):
    _forbid(monkeypatch, *HEAVY)
    assert main(["meanfield", "--activation", expr, "--sigma-w2", "1", "--sigma-b2", "0"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and word in err, err


@pytest.mark.parametrize("argv, words", [
    (["phase-diagram", "--grid", "4000", "--out", "x.png"], ["--grid 4000", "h", "--force"]),
    (["jacobian-spectrum", "--depth", "10000", "--out", "x.png"], ["depth 10000", "--force"]),
    (["info-plane", "--epochs", "1000000", "--out", "x.png"], ["--epochs", "--force"]),
    (["lyapunov", "--width", "5000", "--out", "x.png"], ["width 5000", "--force"]),
    (["lyapunov", "--steps", "100000000", "--k", "1", "--out", "x.png"],
     ["100000000 steps", "--force"]),
])
def test_long_runs_are_refused_with_an_estimate(tmp_path, monkeypatch, capsys, argv, words):
    monkeypatch.chdir(tmp_path)
    _forbid(monkeypatch, *HEAVY)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "estimated" in err, err
    for w in words:
        assert w in err, (w, err)


def test_phase_diagram_estimate_grows_with_the_grid():
    """The estimate is (cost per point) n^2 + (cost per row) n from the measured table."""
    pt, row = cli.COSTS["phase_point"]["tanh"], cli.COSTS["phase_row"]["*"]
    assert _meanfield._phase_cost("tanh", 4000) == pytest.approx(pt * 4000**2 + row * 4000)
    # 16 million points: tens of minutes even at the measured 0.2 ms per point, refused
    assert _meanfield._phase_cost("tanh", 4000) > 5 * cli.MAX_SECONDS
    assert _meanfield._phase_cost("tanh", 100) < cli.MAX_SECONDS  # the README's default runs


def test_estimates_of_the_issue_examples():
    """The issue's runs: grid 4000 (about a day) and depth 10000 are refused with an
    estimate; complexity --max-index 1000 is refused by the figure's limit (at most
    spinglass.MAX_PLOT_INDICES curves), and the largest allowed value is a short run."""
    p = build_parser()
    a = p.parse_args(["phase-diagram", "--grid", "4000"])
    assert _meanfield._phase_cost("tanh", 4000) > cli.MAX_SECONDS
    a = p.parse_args(["jacobian-spectrum", "--depth", "10000"])
    assert sum(_rmt._jacobian_cost(a)) > cli.MAX_SECONDS
    a = p.parse_args(["complexity", "--max-index", "1000", "--out", "c.png"])
    with pytest.raises(_common._UsageError, match="--max-index must be at most 99"):
        _spinglass._check_complexity(a)
    a = p.parse_args(["complexity", "--max-index", "99", "--out", "c.png"])
    assert _spinglass._check_complexity(a) < cli.MAX_SECONDS


def test_lyapunov_estimates():
    """The README's run (N = 200, all exponents, 5000 steps) is estimated well under a
    minute and runs; N = 5000 with every exponent is refused; the cost grows like
    N^2 (k + 1) + N k^2 per step."""
    p = build_parser()
    est, flops = _dynamics._lyapunov_cost(p.parse_args(["lyapunov", "--width", "200"]))
    assert est < 60 and flops == pytest.approx(5500 * (2 * 200**2 * 201 + 4 * 200**3))
    est, _ = _dynamics._lyapunov_cost(p.parse_args(["lyapunov", "--width", "5000"]))
    assert est > cli.MAX_SECONDS
    a = p.parse_args(["lyapunov", "--width", "5000", "--k", "1", "--steps", "100"])
    assert _dynamics._lyapunov_cost(a)[0] < 30
    # an explicit --qr-every lowers the QR share
    e1, _ = _dynamics._lyapunov_cost(p.parse_args(["lyapunov", "--qr-every", "1"]))
    e5, _ = _dynamics._lyapunov_cost(p.parse_args(["lyapunov", "--qr-every", "5"]))
    assert e5 < e1


def test_lyapunov_library_flop_limit_needs_force_first(tmp_path, monkeypatch, capsys):
    """Past the time limit the guard speaks first; with --force the library's flop limit
    is still checked before any computation."""
    monkeypatch.chdir(tmp_path)
    _forbid(monkeypatch, *HEAVY)
    argv = ["lyapunov", "--width", "10000", "--steps", "100000", "--out", "x.png"]
    assert main(argv) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "flops" in err, err


def test_complexity_max_index_refused_before_computing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _forbid(monkeypatch, *HEAVY)
    assert main(["complexity", "--max-index", "1000", "--out", "x.png"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "at most 99" in err, err


def test_force_runs_past_the_limit(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "MAX_SECONDS", 0.0)
    out = tmp_path / "relu.png"
    argv = ["phase-diagram", "--activation", "relu", "--grid", "3", "--out", str(out)]
    assert main(argv) == 2
    assert "--force" in capsys.readouterr().err and not out.exists()
    assert main([*argv, "--force"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_progress_lines_and_row_blocks_equal_one_call(tmp_path, monkeypatch, capsys):
    import deeptheory.meanfield as mf

    monkeypatch.setattr(cli, "PROGRESS_SECONDS", -1.0)
    out = tmp_path / "erf.png"
    assert main(["phase-diagram", "--activation", "erf", "--grid", "5", "--out",
                 str(out)]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "sigma_b2 rows" in ln]
    assert len(lines) == 5 and "5/5 sigma_b2 rows (100%)" in lines[-1], err
    # the figure's data, computed in blocks of rows, is that of one library call
    sw, sb = np.linspace(0.05, 4, 7), np.linspace(0, 2, 7)
    prog = _common._Progress("phase-diagram", 7, "rows", enabled=True)
    blocks = _meanfield._phase_diagram_rows(sw, sb, "erf", prog, chunks=3)
    capsys.readouterr()
    whole = mf.phase_diagram(sw, sb, "erf")
    for name in ("q_star", "chi1", "c_star", "chi_c", "xi_c", "xi_q", "chi2",
                 "critical_sigma_w2", "sigma_b2"):
        np.testing.assert_allclose(getattr(blocks, name), getattr(whole, name), rtol=1e-12,
                                   err_msg=name)


def test_one_default_for_weights_and_activation():
    from deeptheory import rmt

    lib_w = inspect.signature(rmt.jacobian_moments).parameters["weights"].default
    lib_a = inspect.signature(rmt.jacobian_moments).parameters["activation"].default
    p = build_parser()
    args = p.parse_args(["jacobian-spectrum"])
    assert args.weights == lib_w == "gaussian"
    for cmd in (["jacobian-spectrum"], ["phase-diagram"], ["info-plane"], ["lyapunov"],
                ["meanfield", "--sigma-w2", "1", "--sigma-b2", "0"]):
        assert p.parse_args(cmd).activation == lib_a == "tanh"
    import deeptheory.dynamics as dyn

    rnn = inspect.signature(dyn.random_rnn).parameters
    ly = inspect.signature(dyn.lyapunov_spectrum).parameters
    a = p.parse_args(["lyapunov"])
    assert a.weights == rnn["weights"].default and a.sigma_b2 == rnn["sigma_b2"].default
    assert a.qr_every == ly["qr_every"].default and a.tol == ly["tol"].default


def test_module_docstring_lists_every_subcommand():
    p = build_parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    assert len(sub.choices) == 12
    for name in sub.choices:
        assert f"deeptheory {name}" in " ".join(cli.__doc__.split()), name


def _printed(out: str) -> dict[str, float]:
    vals = {}
    for line in out.splitlines():
        k, sep, v = line.partition("=")
        if sep and line.startswith("  "):
            try:
                vals[k.strip()] = float(v.split()[0])
            except ValueError:
                pass
    return vals


@pytest.mark.parametrize("act, sw2, sb2, q_star", [
    # relu: q* = sigma_b2 / (1 - sigma_w2 / 2) exactly
    ("relu", 0.5, 1e4, 1e4 / 0.75),
    # tanh, q -> inf: E[tanh^2(sqrt(q) z)] = 1 - sqrt(2/pi)/sqrt(q) + O(q^-3/2), so q* solves
    # q = sigma_b2 + sigma_w2 (1 - sqrt(2/(pi q))) (error ~ sigma_w2 q^-3/2 ~ 1e-2 here)
    ("tanh", 1e4, 1e4, None),
])
def test_top_of_the_variance_range_is_accurate_and_quiet(capsys, act, sw2, sb2, q_star):
    if q_star is None:
        from scipy.optimize import brentq

        q_star = brentq(lambda q: sb2 + sw2 * (1 - np.sqrt(2 / (np.pi * q))) - q, 1e3, 1e5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert main(["meanfield", "--activation", act, "--sigma-w2", f"{sw2:g}",
                     "--sigma-b2", f"{sb2:g}"]) == 0
    out = capsys.readouterr()
    assert "Warning" not in out.err
    assert _printed(out.out)["q*"] == pytest.approx(q_star, rel=2e-6)


def test_long_runs_turn_on_the_library_bars(tmp_path, monkeypatch, capsys):
    """Above PROGRESS_SECONDS the commands pass progress=True to their long library calls:
    their tqdm bars (named after the function) appear on stderr beside the stage lines."""
    monkeypatch.setattr(cli, "PROGRESS_SECONDS", -1.0)
    runs = [
        (["jacobian-spectrum", "--activation", "erf", "--depth", "3", "--width", "40",
          "--trials", "2"], ["sample_jacobian_singular_values"]),
        (["lyapunov", "--gain", "2", "--width", "20", "--steps", "200", "--k", "3"],
         ["lyapunov_spectrum"]),
        (["diffusion", "--sampler", "sde", "--n", "200", "--steps", "30", "--components", "3"],
         ["reverse_sde_sample", "compare_to_target"]),
        (["diffusion", "--n", "200", "--steps", "20", "--components", "3"],
         ["probability_flow_sample"]),
    ]
    for argv, bars in runs:
        assert main([*argv, "--out", str(tmp_path / f"{argv[0]}.png")]) == 0, argv
        err = capsys.readouterr().err
        for b in bars:
            assert b in err, (argv, b, err[-2000:])
    monkeypatch.setattr(cli, "PROGRESS_SECONDS", 1e9)  # a short run: no bar, no line
    assert main([*runs[1][0], "--out", str(tmp_path / "q.png")]) == 0
    assert capsys.readouterr().err == ""
