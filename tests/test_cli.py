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
    ["diffusion", "--n", "5", "--out", "x.png"],
    ["diffusion", "--process", "ve", "--out", "x.png"],
    ["diffusion", "--spread", "0", "--out", "x.png"],
    ["diffusion", "--steps", "0", "--out", "x.png"],
    ["diffusion", "--n", "1000000", "--steps", "100000", "--out", "x.png"],
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
    (["diffusion", "--help"], ["--process", "--sampler", "--method", "--steps", "--components",
                               "Song", "probability-flow"]),
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
    from deeptheory.cli import _dynamics
    from deeptheory.kernels.montecarlo import single_thread_blas

    net, run = _dynamics._lyapunov_seeds(seed)
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


# ---------------------------------------------------------------- gibbs


def _gibbs_table(out: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-temperature table printed by ``deeptheory gibbs``."""
    lines = out.splitlines()
    i = next(j for j, ln in enumerate(lines) if ln.split()[:2] == ["T", "energy"])
    rows = []
    for ln in lines[i + 1:]:
        parts = ln.split()
        try:
            float(parts[0])
        except (ValueError, IndexError):
            break
        rows.append(parts)
    return lines[i].split(), rows


def _num(text: str) -> float:
    return math.nan if text == "-" else float(text)


def _gibbs_library(model, t_min, t_max, k, sweeps, copies, seed, method="pt"):
    """The library's run for the command's ladder and seeds."""
    from deeptheory import spinglass as sg
    from deeptheory.cli import _spinglass

    _, mc_seed = _spinglass._gibbs_seeds(seed)
    betas = _spinglass._gibbs_betas(t_min, t_max, k)
    if method == "pt":
        return sg.parallel_tempering(model, betas, sweeps, n_copies=copies, seed=mc_seed), betas
    return sg.metropolis(model, betas, sweeps, copies, seed=mc_seed), betas


def _check_columns(rows, cols, expected):
    """Each printed column equals the expected array (ascending T: reversed betas) to the
    printed precision (6 decimals)."""
    for c, ref in zip(cols, expected, strict=True):
        got = np.array([_num(r[c]) for r in rows])
        np.testing.assert_allclose(got, np.asarray(ref, float)[::-1], atol=6e-7, rtol=0,
                                   err_msg=f"column {c}")


def test_gibbs_ising2d_prints_library_values(tmp_path, capsys):
    from deeptheory import spinglass as sg

    out = tmp_path / "g.png"
    assert main(["gibbs", "--model", "ising2d", "--l", "6", "--t-min", "1.8", "--t-max", "3",
                 "--temps", "4", "--sweeps", "400", "--seed", "5", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG_MAGIC
    text = capsys.readouterr().out
    head, rows = _gibbs_table(text)
    assert head[:4] == ["T", "energy", "+-", "Kaufman"] and len(rows) == 4
    res, betas = _gibbs_library(sg.IsingLattice(6, 2), 1.8, 3.0, 4, 400, 2, 5)
    kf = sg.ising_2d_finite(betas, 6)
    _check_columns(rows, range(10), [
        1 / betas, res.energy.value, res.energy.stderr, kf.energy, res.specific_heat.value,
        res.specific_heat.stderr, kf.specific_heat, res.magnetisation.value,
        res.magnetisation.stderr, sg.yang_magnetisation(betas)])
    # swap rates of the pairs (T_i, next lower T); none below the lowest temperature
    assert rows[0][-1] == "-"
    _check_columns(rows[1:], [-1], [res.swap_rates])
    vals = _values(text)
    assert float(vals["T_c"].split()[0]) == pytest.approx(sg.ONSAGER_TC, rel=1e-11)
    z = np.abs(res.energy.value - kf.energy) / res.energy.stderr
    assert float(vals["max_z_energy"].split()[0]) == pytest.approx(z.max(), rel=2e-3)
    assert "gibbs: model=ising2d" in text and "wrote" in text


def test_gibbs_sk_prints_library_and_replica_values(tmp_path, capsys):
    from deeptheory import spinglass as sg
    from deeptheory.cli import _spinglass

    out = tmp_path / "sk.png"
    assert main(["gibbs", "--model", "sk", "--n", "16", "--t-min", "0.6", "--t-max", "1.5",
                 "--temps", "4", "--sweeps", "400", "--k-rsb", "1", "--seed", "2",
                 "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG_MAGIC
    text = capsys.readouterr().out
    head, rows = _gibbs_table(text)
    assert head[-4:] == ["f_theory", "f_RS", "tau_int", "swap"] and len(rows) == 4
    model_rng, _ = _spinglass._gibbs_seeds(2)
    res, betas = _gibbs_library(sg.sk_model(16, seed=model_rng), 0.6, 1.5, 4, 400, 2, 2)
    temps = 1 / betas
    par = [sg.sk_parisi(t, 0.0, 1) if t < 1 else None for t in temps]
    rs = sg.sk_rs_free_energy(temps)
    u_th = [p.energy if p else -b / 2 for p, b in zip(par, betas, strict=True)]
    f_th = [p.f if p else -t * (math.log(2) + b * b / 4)
            for p, t, b in zip(par, temps, betas, strict=True)]
    q2_th = [np.sum(np.diff([0.0, p.m[0], 1.0]) * p.q**2) if p else 1 / (16 * (1 - b * b))
             for p, b in zip(par, betas, strict=True)]
    _check_columns(rows, [1, 2, 3, 7, 8, 9, 10, 11], [
        res.energy.value, res.energy.stderr, u_th, res.q2.value, res.q2.stderr, q2_th, f_th,
        rs.f])
    # the specific heat theory is the paramagnet's beta^2 / 2 above T_c only
    assert [r[6] == "-" for r in rows] == [t < 1 for t in temps[::-1]]
    vals = _values(text)
    p_low = sg.sk_parisi(0.6, 0.0, 1)
    assert [float(v) for v in vals["parisi_q"].split()[:2]] == pytest.approx(p_low.q, abs=1e-6)
    assert float(vals["rs_q"]) == pytest.approx(float(sg.sk_rs_free_energy(0.6).q), abs=1e-6)
    q = res.overlaps[:, -1, :].ravel()
    assert f"mean_abs_q = {np.abs(q).mean():.6f}" in text
    assert "max_z" not in text  # one disorder sample: no z against the N = inf theory


def test_gibbs_ising1d_metropolis_and_exact_columns(tmp_path, capsys):
    from deeptheory import spinglass as sg

    out = tmp_path / "g1.png"
    assert main(["gibbs", "--model", "ising1d", "--n", "12", "--t-min", "1", "--t-max", "4",
                 "--temps", "3", "--sweeps", "300", "--method", "metropolis", "--out",
                 str(out)]) == 0
    text = capsys.readouterr().out
    _, rows = _gibbs_table(text)
    res, betas = _gibbs_library(sg.IsingLattice(12, 1), 1.0, 4.0, 3, 300, 2, 0, "metropolis")
    tm = sg.ising_1d(betas, L=12)
    # <m^2> exact = (1/L) sum_r <s_0 s_r> (an independent formula for the printed chi/(beta N))
    m2 = np.mean(sg.ising_1d_correlation(betas[:, None], np.arange(12)[None, :], L=12), axis=1)
    _check_columns(rows, [1, 3, 4, 6, 7, 9], [res.energy.value, tm.energy,
                                              res.specific_heat.value, tm.specific_heat,
                                              res.m2.value, m2])
    assert all(r[-1] == "-" for r in rows)  # no exchanges with --method metropolis
    assert "swap_rate_min" not in text and "max_z_m2" in text


@pytest.mark.parametrize("argv, words", [
    (["gibbs", "--model", "ising2d", "--n", "10"], ["--n", "--l"]),
    (["gibbs", "--model", "sk", "--l", "10"], ["--l", "--n"]),
    (["gibbs", "--model", "ising1d", "--l", "10"], ["--l"]),
    (["gibbs", "--model", "sk", "--n", "5000"], ["--n", "4096"]),
    (["gibbs", "--model", "ising2d", "--l", "2000"], ["--l", "1024"]),
    (["gibbs", "--n", "1"], ["--n", ">= 2"]),
    (["gibbs", "--t-min", "2", "--t-max", "1"], ["--t-min", "--t-max"]),
    (["gibbs", "--t-min", "0"], ["--t-min", "temperature"]),
    (["gibbs", "--t-max", "nan"], ["--t-max"]),
    (["gibbs", "--t-min", "-1"], ["--t-min"]),
    (["gibbs", "--temps", "0"], ["--temps"]),
    (["gibbs", "--temps", "1"], ["--temps", "parallel tempering", "metropolis"]),
    (["gibbs", "--temps", "500"], ["--temps"]),
    (["gibbs", "--sweeps", "10"], ["--sweeps", "[100, 1000000000]"]),
    (["gibbs", "--copies", "1"], ["--copies", "sk"]),
    (["gibbs", "--copies", "0", "--model", "ising2d"], ["--copies"]),
    (["gibbs", "--model", "potts"], ["--model", "potts"]),
    (["gibbs", "--method", "wolff"], ["--method"]),
    (["gibbs", "--k-rsb", "0"], ["--k-rsb"]),
    (["gibbs", "--seed", "-3"], ["--seed"]),
    (["gibbs", "--out", "g.txt"], ["--out", ".txt"]),
    (["gibbs", "--out", "no/such/g.png"], ["--out", "does not exist"]),
    (["gibbs", "--model", "sk", "--n", "4096", "--sweeps", "100000"],
     ["estimated", "--force"]),
    (["gibbs", "--model", "ising2d", "--l", "1024", "--temps", "64", "--sweeps", "100000000"],
     ["MiB", "--sweeps"]),
])
def test_gibbs_bad_input_exits_2_with_one_line(tmp_path, monkeypatch, capsys, argv, words):
    from deeptheory import spinglass as sg

    monkeypatch.chdir(tmp_path)

    def boom(*a, **k):
        raise AssertionError("computation started before the arguments were checked")

    for name in ("parallel_tempering", "metropolis", "sk_model", "sk_parisi"):
        monkeypatch.setattr(sg, name, boom)
    assert main([*argv, "--out", "g.png"] if "--out" not in argv else argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "g.png").exists()


def test_gibbs_force_still_respects_the_library_limit(tmp_path, monkeypatch, capsys):
    """Past the time limit the guard speaks first; with --force the library's work limit
    (MAX_MC_SWEEP_WORK) is checked before any computation."""
    monkeypatch.chdir(tmp_path)
    argv = ["gibbs", "--model", "sk", "--n", "4096", "--temps", "64", "--copies", "4",
            "--sweeps", "100000", "--out", "g.png"]
    assert main(argv) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "library's limit" in err, err


def test_gibbs_estimate_is_measured_scale():
    """The default runs are estimated under a minute; the estimate grows with the work."""
    from deeptheory import cli
    from deeptheory.cli import _spinglass

    p = cli.build_parser()
    for model in ("sk", "ising2d", "ising1d"):
        a = p.parse_args(["gibbs", "--model", model])
        _spinglass._gibbs_setup(a)
        est, ops = _spinglass._gibbs_cost(a)
        assert est < 60, (model, est)
        b = p.parse_args(["gibbs", "--model", model, "--sweeps", "100000"])
        _spinglass._gibbs_setup(b)
        assert _spinglass._gibbs_cost(b)[1] == pytest.approx(10 * ops)


def test_gibbs_help(capsys):
    assert main(["gibbs", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for w in ("--model", "sk", "ising2d", "ising1d", "--n", "--l", "--t-min", "--t-max",
              "--temps", "--sweeps", "--copies", "--method", "--k-rsb", "--seed", "--out",
              "Kaufman", "Onsager", "Parisi", "Hukushima & Nemoto", "J_ij ~ N(0, 1/N)"):
        assert w in out, w


def test_diffusion_prints_library_checks(tmp_path, capsys):
    """The printed KS statistics and verdicts are those of the library's sampler and
    compare_to_target for the same seed; the exact-score ODE sample passes."""
    import numpy as np

    import deeptheory.dynamics as dyn

    out = tmp_path / "df.png"
    assert main(["diffusion", "--n", "400", "--steps", "40", "--components", "4",
                 "--seed", "3", "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000 and out.read_bytes()[:8] == PNG_MAGIC
    text = capsys.readouterr().out
    ang = 2 * np.pi * np.arange(4) / 4
    mix = dyn.GaussianMixture(np.full(4, 0.25), 2.0 * np.c_[np.cos(ang), np.sin(ang)],
                              np.repeat(0.05 * np.eye(2)[None], 4, axis=0))
    res = dyn.probability_flow_sample(mix, dyn.ForwardProcess("vp"), 400, n_steps=40,
                                      method="rk4", seed=3)
    chk = dyn.compare_to_target(res.samples, res.target, seed=3)
    vals = _values(text)
    assert vals["ks"].startswith("PASS" if chk.ks_ok else "FAIL")
    assert f"statistics {chk.ks_stat[0]:.4g}, {chk.ks_stat[1]:.4g}" in vals["ks"]
    assert f"({chk.w2:.4g};" in vals["w2"]
    assert vals["passed"] == ("yes" if chk.passed else "no") == "yes"


def test_diffusion_sde_brownian(tmp_path, capsys):
    out = tmp_path / "df.svg"
    assert main(["diffusion", "--sampler", "sde", "--process", "brownian", "--n", "300",
                 "--steps", "200", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "sampler=sde" in text and "method=euler_maruyama" in text and "process=brownian" in text


def test_verify_subcommand_delegates(capsys):
    """deeptheory verify runs deeptheory.verify.main_verify: exit 0 when every row passes."""
    assert main(["verify", "--quick", "--pillars", "infotheory"]) == 0
    text = capsys.readouterr().out
    assert "PASS" in text and " 0 FAIL" in text
    assert main(["verify", "--seed", "-1"]) == 2
