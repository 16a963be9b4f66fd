"""The ``deeptheory`` command line, run in-process through ``deeptheory.cli.main``."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

import deeptheory.meanfield as mf
from deeptheory.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _values(out: str) -> dict[str, str]:
    """Parse the ``  name = value`` lines printed by ``deeptheory meanfield``."""
    vals = {}
    for line in out.splitlines():
        m = re.match(r"^\s+(\S+)\s+= (.*)$", line)
        if m:
            vals[m.group(1)] = m.group(2).strip()
    return vals


def _close(text: str, expected: float) -> bool:
    v = float(text)
    if math.isinf(expected):
        return v == expected
    return math.isclose(v, expected, rel_tol=1e-10, abs_tol=1e-12)


@pytest.mark.parametrize("sw2, sb2, phase", [(1.5, 0.05, "ordered"), (4.0, 0.05, "chaotic")])
def test_meanfield_prints_library_values(capsys, sw2, sb2, phase):
    assert main(["meanfield", "--activation", "tanh", "--sigma-w2", str(sw2),
                 "--sigma-b2", str(sb2)]) == 0
    out = capsys.readouterr().out
    vals = _values(out)
    expected = {
        "q*": mf.q_star(sw2, sb2, "tanh"),
        "chi_1": mf.chi1(sw2, sb2, "tanh"),
        "chi_2": mf.chi2(sw2, sb2, "tanh"),
        "c*": mf.c_star(sw2, sb2, "tanh"),
        "chi_c": mf.chi_c(sw2, sb2, "tanh"),
        "xi_q": mf.xi_q(sw2, sb2, "tanh"),
        "xi_c": mf.xi_c(sw2, sb2, "tanh"),
        "xi_grad": mf.xi_grad(sw2, sb2, "tanh"),
    }
    for key, val in expected.items():
        assert key in vals, f"{key} missing from output:\n{out}"
        assert _close(vals[key], val), (key, vals[key], val)
    assert vals["phase"].startswith(phase)
    crit = re.search(r"critical sigma_w2 at sigma_b2=\S+: (\S+)", out)
    assert crit is not None
    assert _close(crit.group(1), mf.critical_line(sb2, "tanh"))


def test_meanfield_relu_chi2_is_infinite(capsys):
    assert main(["meanfield", "--activation", "relu", "--sigma-w2", "1.5",
                 "--sigma-b2", "0.1"]) == 0
    vals = _values(capsys.readouterr().out)
    assert vals["chi_2"] == "inf: phi'' has a delta"
    assert _close(vals["chi_1"], 0.75)  # sigma_w^2 / 2 for relu
    assert vals["phase"].startswith("ordered")


def test_phase_diagram_writes_png(tmp_path, capsys):
    out = tmp_path / "tanh.png"
    assert main(["phase-diagram", "--activation", "tanh", "--grid", "8", "--out", str(out)]) == 0
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR" and data[-8:-4] == b"IEND"
    printed = capsys.readouterr().out
    assert "8 x 8" in printed
    m = re.search(r"at sigma_b2 = 0: sigma_w2 = (\S+)", printed)
    assert m is not None
    # tanh: order-to-chaos transition at sigma_w^2 = 1 when sigma_b^2 = 0
    assert float(m.group(1)) == pytest.approx(1.0, abs=1e-5)
    import matplotlib.image

    img = matplotlib.image.imread(out)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100


def test_phase_diagram_options(tmp_path, capsys):
    out = tmp_path / "erf_chi1.png"
    argv = ["phase-diagram", "--activation", "erf", "--grid", "6", "--out", str(out),
            "--sw2-max", "3", "--sb2-max", "1", "--quantity", "chi1"]
    assert main(argv) == 0
    assert out.read_bytes()[:8] == PNG_MAGIC
    m = re.search(r"at sigma_b2 = 0: sigma_w2 = (\S+)", capsys.readouterr().out)
    # erf: phi'(0)^2 = 4 / pi, so the line starts at sigma_w^2 = pi / 4
    assert float(m.group(1)) == pytest.approx(np.pi / 4, rel=1e-5)


@pytest.mark.parametrize("argv", [
    ["meanfield", "--activation", "nosuch", "--sigma-w2", "1", "--sigma-b2", "0"],
    ["meanfield", "--activation", "tanh", "--sigma-w2", "-1", "--sigma-b2", "0"],
    ["meanfield", "--activation", "tanh", "--sigma-w2", "1", "--sigma-b2", "-0.5"],
    ["meanfield", "--activation", "tanh", "--sigma-w2", "nan", "--sigma-b2", "0"],
    ["meanfield", "--activation", "tanh", "--sigma-w2", "1"],
    ["phase-diagram", "--activation", "nosuch", "--grid", "4", "--out", "x.png"],
    ["phase-diagram", "--grid", "1", "--out", "x.png"],
    ["phase-diagram", "--grid", "4", "--sw2-max", "-2", "--out", "x.png"],
    ["phase-diagram", "--activation", "relu", "--grid", "4", "--quantity", "chi2",
     "--out", "x.png"],
    ["phase-diagram", "--grid", "4", "--out", "no/such/dir/x.png"],
    ["jacobian-spectrum", "--depth", "0", "--out", "x.png"],
    ["jacobian-spectrum", "--weights", "unitary", "--out", "x.png"],
    ["jacobian-spectrum", "--activation", "nosuch", "--out", "x.png"],
    ["jacobian-spectrum", "--sigma-b2", "-1", "--out", "x.png"],
    ["jacobian-spectrum", "--out", "no/such/dir/x.png"],
    ["info-plane", "--epochs", "0", "--out", "x.png"],
    ["info-plane", "--activation", "nosuch", "--out", "x.png"],
    ["info-plane", "--activation", "relu", "--out", "no/such/dir/x.png"],
    ["complexity", "--p", "2", "--out", "x.png"],
    ["complexity", "--p", "three", "--out", "x.png"],
    ["complexity", "--max-index", "-1", "--out", "x.png"],
    ["lyapunov", "--gain", "0", "--out", "x.png"],
    ["lyapunov", "--gain", "-1", "--out", "x.png"],
    ["lyapunov", "--width", "1", "--out", "x.png"],
    ["lyapunov", "--width", "20", "--k", "21", "--out", "x.png"],
    ["lyapunov", "--k", "0", "--out", "x.png"],
    ["lyapunov", "--steps", "5", "--out", "x.png"],
    ["lyapunov", "--steps", "20", "--qr-every", "30", "--out", "x.png"],
    ["lyapunov", "--qr-every", "0", "--out", "x.png"],
    ["lyapunov", "--qr-every", "often", "--out", "x.png"],
    ["lyapunov", "--weights", "unitary", "--out", "x.png"],
    ["lyapunov", "--activation", "nosuch", "--out", "x.png"],
    ["lyapunov", "--out", "no/such/dir/x.png"],
    ["ode-flow", "--dim", "4", "--out", "x.png"],
    ["ode-flow", "--data", "moons", "--out", "x.png"],
    ["ode-flow", "--lr", "0", "--out", "x.png"],
    ["ode-flow", "--n", "2", "--out", "x.png"],
    ["ode-flow", "--l2", "-1", "--out", "x.png"],
    ["ode-flow", "--activation", "relu(", "--out", "x.png"],
    ["ode-flow", "--epochs", "100000", "--n", "5000", "--hidden", "1024", "--out", "x.png"],
    ["no-such-command"],
    [],
])
def test_bad_input_exits_2_with_one_line(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if argv:  # an empty command line prints the help to stderr instead
        assert len(err.strip().splitlines()) == 1, err
        assert "error" in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("argv, words", [
    (["--help"], ["phase-diagram", "meanfield", "VARIANCES"]),
    (["phase-diagram", "--help"], ["--activation", "--grid", "--out", "--sw2-min", "--sw2-max",
                                   "--sb2-max", "--quantity", "--dpi", "tanh", "relu"]),
    (["meanfield", "--help"], ["--activation", "--sigma-w2", "--sigma-b2", "variance"]),
    (["jacobian-spectrum", "--help"], ["--activation", "--weights", "--depth", "--out",
                                       "orthogonal", "--no-sample"]),
    (["ode-flow", "--help"], ["--data", "--dim", "ring", "spiral", "--l2", "--block",
                              "--epochs", "Dupont"]),
    (["lyapunov", "--help"], ["--activation", "--gain", "--width", "--steps", "--k",
                              "--sigma-b2", "--seed", "--weights", "--qr-every", "--out",
                              "g^2", "nats per step"]),
])
def test_help(capsys, argv, words):
    assert main(argv) == 0
    out = capsys.readouterr().out
    for w in words:
        assert w in out, w


def test_jacobian_spectrum_writes_png_and_prints_library_values(tmp_path, capsys):
    """The printed m1, m2 and largest singular value are the library's, at the critical
    sigma_w2 that the command picks by default."""
    import math

    import deeptheory.meanfield as mf
    from deeptheory import rmt

    out = tmp_path / "js.png"
    assert main(["jacobian-spectrum", "--activation", "erf", "--weights", "gaussian",
                 "--depth", "4", "--width", "60", "--trials", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.stat().st_size > 10_000 and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sw2 = float(mf.critical_line(0.01, "erf"))
    mom = rmt.jacobian_moments(sw2, 0.01, 4, "erf", "gaussian")
    smax = math.sqrt(rmt.jacobian_max_eigenvalue(sw2, 0.01, 4, "erf", "gaussian"))
    assert f"m2 = {mom.m2:.12g}" in text
    assert f"largest singular value (theory) = {smax:.12g}" in text
    assert f"sigma_w2={sw2:.12g}" in text


def test_info_plane_writes_png_and_arrays(tmp_path, capsys):
    """The saved arrays are those of the library for the same seed."""
    import numpy as np

    from deeptheory import infotheory as it

    out = tmp_path / "ip.png"
    assert main(["info-plane", "--epochs", "30", "--records", "5", "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    data = np.load(tmp_path / "ip.npz")
    task = it.twelve_bit_task()
    run = it.train_mlp(task.x, task.y, epochs=30, n_record=5, seed=0)
    pl = it.information_plane(run, task.y)
    np.testing.assert_array_equal(data["binning_i_xt"], pl.i_xt)
    np.testing.assert_array_equal(data["loss"], run.loss)
    assert "information plane: activation=tanh" in capsys.readouterr().out


def test_complexity_writes_png_and_prints_levels(tmp_path, capsys):
    from deeptheory import spinglass as sg

    out = tmp_path / "c.png"
    assert main(["complexity", "--p", "4", "--max-index", "2", "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    text = capsys.readouterr().out
    assert f"E_0 = {float(sg.e_k(4, 0)):.12g}" in text
    assert f"E_inf = {float(sg.e_inf(4)):.12g}" in text


def test_kernel_writes_png_and_prints_library_values(tmp_path, capsys):
    out = tmp_path / "k.png"
    assert main(["kernel", "--activation", "tanh", "--depth", "4", "--sigma-w2", "1.5",
                 "--sigma-b2", "0.05", "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000
    text = capsys.readouterr().out
    rows = {ln.split()[0]: [float(v) for v in ln.split()[1:]] for ln in text.splitlines()
            if ln.strip().startswith(("NNGP ", "NTK "))}
    c = np.array([-1.0, -0.5, 0.0, 0.5, 0.9, 0.99, 1.0])
    for name in ("nngp", "ntk"):
        ref = mf.dot_product_kernel(c, depth=4, sigma_w2=1.5, sigma_b2=0.05,
                                    activation="tanh", kernel=name).value
        np.testing.assert_allclose(rows[name.upper()], ref, rtol=1e-5, atol=1e-9)
    assert "ordered" in text and "xi_c" in text


@pytest.mark.parametrize("argv", [["kernel", "--depth", "0"], ["kernel", "--sigma-w2", "-1"],
                                  ["kernel", "--activation", "relu", "--kind", "half"],
                                  ["kernel", "--out", "k.nosuch"]])
def test_kernel_bad_input(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "deeptheory kernel" in err[0]


def _lyapunov_library(width, gain, steps, seed, k=None, qr_every="auto", **kw):
    """The library's spectrum for the command's seeds (network, run) and one BLAS thread;
    ``kw`` go to ``random_rnn``."""
    import deeptheory.dynamics as dyn
    from deeptheory import cli
    from deeptheory.kernels.montecarlo import single_thread_blas

    net, run = cli._lyapunov_seeds(seed)
    with single_thread_blas(), warnings.catch_warnings():
        warnings.simplefilter("ignore", dyn.FrameCollapseWarning)
        return dyn.lyapunov_spectrum(dyn.random_rnn(width, gain, seed=net, **kw), n_steps=steps,
                                     k=k, qr_every=qr_every, seed=run, on_fail="ignore")


def test_lyapunov_writes_png_and_prints_library_values(tmp_path, capsys):
    """The printed lambda_max, Kaplan-Yorke dimension, KS entropy and sum are the library's
    for the same seeds; the mean-field value is 1/2 ln chi_1 at sigma_w2 = g^2."""
    import deeptheory.dynamics as dyn

    out = tmp_path / "ly.png"
    assert main(["lyapunov", "--gain", "2", "--width", "30", "--steps", "400", "--seed", "3",
                 "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000 and out.read_bytes()[:8] == PNG_MAGIC
    text = capsys.readouterr().out
    vals = _values(text)
    res = _lyapunov_library(30, 2.0, 400, 3)
    assert float(vals["lambda_max"].split()[0]) == pytest.approx(res.exponents[0], rel=1e-9)
    assert float(vals["kaplan_yorke"].split()[0]) == pytest.approx(res.kaplan_yorke, rel=1e-9)
    assert float(vals["ks_entropy"].split()[0]) == pytest.approx(res.ks_entropy, rel=1e-9)
    assert float(vals["sum"].split()[0]) == pytest.approx(res.exponents.sum(), rel=1e-9)
    mf_lam = float(dyn.rnn_max_exponent(2.0))
    assert _close(vals["mean_field"].split()[0], mf_lam)
    assert 0.5 * math.log(mf.chi1(4.0, 0.0, "tanh")) == pytest.approx(mf_lam, rel=1e-12)
    assert vals["phase"].startswith("chaotic")
    assert "30 exponents from 400 steps after a 40-step transient" in text
    assert f"+- {res.stderr[0]:.3g}" in text


def test_lyapunov_ordered_phase_and_k(tmp_path, capsys):
    """Below the transition (g = 0.5) the state decays to 0: lambda_max is the log spectral
    radius of W, negative, and the mean field gives ln g."""
    out = tmp_path / "ly.png"
    assert main(["lyapunov", "--gain", "0.5", "--width", "40", "--k", "3", "--steps", "300",
                 "--qr-every", "5", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    vals = _values(text)
    assert _close(vals["mean_field"].split()[0], math.log(0.5))
    assert vals["phase"].startswith("ordered")
    assert float(vals["lambda_max"].split()[0]) < 0
    assert "3 exponents from 300 steps" in text and "qr_every = 5," in text
    res = _lyapunov_library(40, 0.5, 300, 0, k=3, qr_every=5)
    assert float(vals["lambda_max"].split()[0]) == pytest.approx(res.exponents[0], rel=1e-9)


def test_lyapunov_orthogonal_and_bias(tmp_path, capsys):
    out = tmp_path / "ly.svg"
    assert main(["lyapunov", "--gain", "3", "--width", "20", "--steps", "200", "--weights",
                 "orthogonal", "--sigma-b2", "0.1", "--activation", "erf", "--out",
                 str(out)]) == 0
    assert "<svg" in out.read_text()[:2000]
    text = capsys.readouterr().out
    assert "weights=orthogonal" in text and "sigma_b2=0.1" in text and "activation=erf" in text
    res = _lyapunov_library(20, 3.0, 200, 0, weights="orthogonal", sigma_b2=0.1,
                            activation="erf")
    assert float(_values(text)["lambda_max"].split()[0]) == pytest.approx(res.exponents[0],
                                                                          rel=1e-9)


def test_lyapunov_reports_frame_collapse(tmp_path, capsys):
    """Re-orthonormalising every 10 steps of a strongly chaotic network loses the lowest
    directions: the command says so on a line of its output (and still succeeds)."""
    out = tmp_path / "ly.png"
    assert main(["lyapunov", "--gain", "4", "--width", "30", "--steps", "200",
                 "--qr-every", "10", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "warning:" in captured.out and "lower qr_every" in captured.out
    assert "Warning" not in captured.err


def test_ode_flow_writes_png_and_prints_library_values(tmp_path, capsys):
    """The printed accuracy, margin and scores are the library's for the same seed; the
    augmented (3-D) flow separates the ring."""
    import deeptheory.dynamics as dyn

    out = tmp_path / "of.png"
    argv = ["ode-flow", "--data", "ring", "--dim", "3", "--n", "60", "--hidden", "12",
            "--depth", "4", "--epochs", "150", "--seed", "2", "--out", str(out)]
    assert main(argv) == 0
    assert out.stat().st_size > 10_000 and out.read_bytes()[:8] == PNG_MAGIC
    text = capsys.readouterr().out
    x, y = dyn.ring_data(60, seed=2)
    m = dyn.train_ode_classifier(x, y, dim=3, hidden=12, depth=4, config=dyn.TrainConfig(
        epochs=150, lr=0.02, l2=1e-3, record_every=1, seed=2))
    vals = _values(text)
    assert float(vals["margin"].split()[0]) == pytest.approx(dyn.readout_margin(m, x, y),
                                                             rel=1e-9)
    assert f"accuracy = {m.accuracy(x, y):.4f}" in text
    s = dyn.geodesic_scores(m, x)
    assert _close(vals["line_shape_score"].split(",")[0], s.lss)
    sep = "yes" if dyn.ring_separation(m).separated else "no"
    assert vals["ring_separated"].startswith(sep)


def test_ode_flow_2d_ring_reports_winding(tmp_path, capsys):
    out = tmp_path / "of.png"
    assert main(["ode-flow", "--dim", "2", "--n", "40", "--hidden", "8", "--depth", "3",
                 "--epochs", "30", "--data", "ring", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    vals = _values(text)
    assert vals["ring_separated"].startswith("no")
    assert vals["winding"].startswith("1, 1, 1, 1, 1  (")
    assert float(vals["margin"].split()[0]) <= float(vals["margin_bound"].split()[0])


def test_ode_flow_spiral(tmp_path, capsys):
    out = tmp_path / "of.svg"
    assert main(["ode-flow", "--data", "spiral", "--dim", "2", "--n", "40", "--hidden", "8",
                 "--depth", "3", "--epochs", "20", "--block", "euler", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "data=spiral" in text and "block=euler" in text and "ring_separated" not in text
