"""deeptheory.verify: theory beside simulation, with a verdict per quantity.

Two configurations (tanh in the ordered phase at sigma_w^2 = 1.5, sigma_b^2 = 0.05, and
relu at its critical point sigma_w^2 = 2, sigma_b^2 = 0) must pass every row in quick mode
(the rule is |simulation - theory| <= 4 stderr + the stated finite-size allowance; the
seeds are fixed, so the verdicts are deterministic); a theory function made 10 % wrong must
fail, and the command line must then exit with 1.  About 15 s on the 2-core machine.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import deeptheory.meanfield as mf
from deeptheory.verify import (
    PILLARS,
    Comparison,
    VerifyConfig,
    list_checks,
    main_verify,
    register_check,
    unregister_check,
    verdict,
    verify,
)

TANH = VerifyConfig(activation="tanh", sigma_w2=1.5, sigma_b2=0.05)
RELU = VerifyConfig(activation="relu", sigma_w2=2.0, sigma_b2=0.0)


@pytest.fixture(scope="module")
def report():
    return verify([TANH, RELU], quick=True, seed=0)


def test_two_configurations_pass(report):
    bad = [(r.config, r.quantity, r.z, r.note) for r in report.failures]
    assert report.passed, bad
    assert {r.pillar for r in report.rows} == set(PILLARS)
    assert {r.check for r in report.rows} | {c for _, c, _, _ in report.skipped} == {
        c.name for c in list_checks()}
    assert not any(r.quantity == "(error)" for r in report.rows)
    for r in report.rows:
        assert math.isfinite(r.theory) and math.isfinite(r.simulation)
        assert r.stderr > 0 or r.simulation == r.theory, r
        assert r.allowance >= 0 and r.n >= 16
    # network-dependent checks ran for both configurations, the others once ("all")
    by_cfg = {r.config for r in report.rows if r.check == "meanfield.layers"}
    assert by_cfg == {TANH.name, RELU.name}
    assert {r.config for r in report.rows if r.pillar == "spinglass"} == {"all"}
    # relu: chi_2 = inf (no curvature recursion), q* = 0 on its critical line
    skipped = {(cfg, chk) for cfg, chk, _, _ in report.skipped}
    assert (RELU.name, "meanfield.curvature") in skipped
    quantities = {r.quantity for r in report.rows if r.config == TANH.name}
    assert {"q*", "chi_1", "chi_c"} <= quantities


def test_printed_table(report):
    text = str(report)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["config", "check", "quantity"]
    assert sum(line.rstrip().endswith("PASS") for line in lines) == len(report.rows)
    assert lines[-1].startswith(f"{len(report.rows)} quantities: {len(report.rows)} PASS, 0 FAIL")


def test_markdown_with_figures(report, tmp_path):
    path = tmp_path / "report.md"
    text = report.to_markdown(path)
    assert path.read_text() == text
    table = [ln for ln in text.splitlines() if ln.startswith("| ") and " PASS " in ln]
    assert len(table) == len(report.rows)
    assert all(ln.count(" | ") == 11 for ln in table)  # 12 columns incl. the figure
    files = sorted(p.name for p in (tmp_path / "report_files").iterdir())
    assert "zscores.png" in files and len(files) >= 8
    for f in files:
        assert f"report_files/{f}" in text
        assert (tmp_path / "report_files" / f).read_bytes()[:4] == b"\x89PNG"
    plain = report.to_markdown(figures=False)
    assert "<img" not in plain and "| verdict | note |" in plain


def test_dataset(report):
    ds = report.to_dataset()
    n = len(report.rows)
    assert dict(ds.sizes) == {"row": n}
    for v in ("theory", "simulation", "stderr", "z", "allowance", "passed", "n"):
        assert ds[v].shape == (n,)
    assert ds["passed"].dtype == bool and bool(ds["passed"].all())
    assert set(ds["pillar"].values) == set(PILLARS)
    np.testing.assert_array_equal(ds["theory"].values, [r.theory for r in report.rows])
    assert ds.attrs["k"] == 4.0 and ds.attrs["passed"] == 1
    sub = ds.where(ds["check"] == "meanfield.fixed_points", drop=True)
    assert sub.sizes["row"] >= 4


def test_wrong_theory_fails(monkeypatch, tmp_path, capsys):
    """chi_1 of the mean field made 10 % too large: its row fails, the others do not."""
    chi1 = mf.chi1
    monkeypatch.setattr(mf, "chi1", lambda *a, **k: 1.1 * chi1(*a, **k))
    rep = verify(TANH, pillars="meanfield.fixed_points", quick=True)
    verdicts = {r.quantity: r.passed for r in rep.rows}
    assert verdicts == {"q*": True, "chi_1": False, "chi_c": True}
    row = rep.failures[0]
    assert row.z < -4 and abs(row.theory / mf.chi_c(1.5, 0.05, "tanh") - 1.1) < 1e-12
    out = tmp_path / "wrong.md"
    code = main_verify(["--pillars", "meanfield.fixed_points", "--quick", "--no-progress",
                        "--no-figures", "--out", str(out)])
    assert code == 1
    printed = capsys.readouterr().out
    assert "FAIL" in printed and "0 FAIL" not in printed
    assert "**FAIL**" in out.read_text()


def test_registered_check_and_errors():
    """A test-only check with a wrong theory fails; a check that raises is a FAIL row."""
    @register_check("infotheory.test_wrong", "infotheory", uses=("info_samples",))
    def wrong(cfg, seed):
        return [Comparison("x", 1.0, 1.2, 0.01, 0.05, 16), Comparison("y", 1.0, 1.03, 0.01, 0.0)]

    @register_check("infotheory.test_raises", "infotheory", uses=())
    def raises(cfg, seed):
        raise RuntimeError("boom")

    try:
        rep = verify(pillars=["infotheory.test_wrong", "infotheory.test_raises"])
        assert [(r.quantity, r.passed) for r in rep.rows] == [
            ("x", False), ("y", True), ("(error)", False)]
        assert "RuntimeError: boom" in rep.rows[2].note
        assert not rep.passed
    finally:
        unregister_check("infotheory.test_wrong")
        unregister_check("infotheory.test_raises")
    assert verdict(1.0, 1.2, 0.01, 0.05) == (pytest.approx(20.0), False)
    assert verdict(1.0, 1.03, 0.01, 0.0)[1] and not verdict(1.0, 1.03, 0.01, 0.0, k=2.9)[1]
    assert verdict(1.0, float("nan"), 0.1, 0.0)[1] is False


def test_cli_passes(capsys, tmp_path):
    out = tmp_path / "info.md"
    code = main_verify(["--pillars", "infotheory", "--quick", "--no-progress", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "infotheory.ksg" in printed and "0 FAIL" in printed
    assert (tmp_path / "info_files" / "zscores.png").exists()
    assert main_verify(["--list"]) == 0
    assert "dynamics.lyapunov" in capsys.readouterr().out


@pytest.mark.parametrize("argv, match", [
    (["--activation", "nope"], "nope"),
    (["--sigma-w2", "-1"], "sigma_w2"),
    (["--sigma-w2", "abc"], "--sigma-w2"),
    (["--sigma-b2", "0.1,"], "empty"),
    (["--pillars", "physics"], "unknown pillar or check 'physics'"),
    (["--pillars", ","], "pillars is empty"),
    (["--width", "2"], "width"),
    (["--n-samples", "3"], "n_samples"),
    (["--seed", "-2"], "seed"),
    (["--k", "0"], "k must be"),
    (["--out", "/no/such/dir/r.md"], "does not exist"),
    (["--out", "report.png"], "Markdown"),
    (["--bogus"], "unrecognized"),
    (["--config", "relu:2"], "ACTIVATION:SIGMA_W2:SIGMA_B2"),
    (["--config", "relu:2:x"], "cannot read"),
    (["--config", "relu:-2:0"], "sigma_w2"),
])
def test_cli_bad_input(argv, match, capsys):
    assert main_verify(argv + ["--quick", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("deeptheory verify: error:")
    assert match in err


def test_on_a_dask_cluster_equals_serial(capsys):
    """Each (check, configuration) as a task on a real LocalCluster of 2 worker processes:
    the rows (theory, simulation, stderr, verdicts) equal those of the serial run."""
    from deeptheory.sweep import local_cluster

    cfgs = [TANH, RELU]
    pick = "meanfield.layers,meanfield.fixed_points,infotheory.plugin"
    serial = verify(cfgs, quick=True, seed=3, pillars=pick)
    with local_cluster(2) as lc:
        dist = verify(cfgs, quick=True, seed=3, pillars=pick, progress=True,
                      scheduler=lc.scheduler_address)
        assert main_verify(["--pillars", "infotheory.plugin", "--quick", "--no-progress",
                            "--scheduler", lc.scheduler_address]) == 0
    assert dist.rows == serial.rows and dist.passed
    assert dist.skipped == serial.skipped
    assert [t[:2] for t in dist.timings] == [t[:2] for t in serial.timings]
    err = capsys.readouterr().err
    assert "verify [5/5]" in err and "meanfield.layers" in err


def test_unreachable_scheduler(capsys):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ConnectionError, match="cannot reach the Dask scheduler"):
        verify(pillars="infotheory.plugin", quick=True, scheduler=f"tcp://127.0.0.1:{port}",
               timeout=2)
    assert main_verify(["--pillars", "infotheory.plugin", "--quick", "--scheduler",
                        f"tcp://127.0.0.1:{port}", "--timeout", "2"]) == 2
    assert "cannot reach" in capsys.readouterr().err
    with pytest.raises(ValueError, match="timeout"):
        verify(pillars="infotheory.plugin", scheduler="local", timeout=0)
    with pytest.raises(TypeError, match="scheduler"):
        verify(pillars="infotheory.plugin", scheduler=3)


def test_api_bad_input():
    with pytest.raises(ValueError, match="empty list"):
        verify([])
    with pytest.raises(ValueError, match="pillars is empty"):
        verify(pillars=[])
    with pytest.raises(ValueError, match="unknown pillar"):
        verify(pillars="meanfeld")
    with pytest.raises(ValueError, match="unknown VerifyConfig field 'widht'"):
        verify({"widht": 100})
    with pytest.raises(TypeError, match="config"):
        verify("tanh")
    with pytest.raises(ValueError, match="seed"):
        verify(seed=-1)
    with pytest.raises(ValueError, match="width"):
        VerifyConfig(width=2)
    with pytest.raises(ValueError, match="sigma_b2"):
        VerifyConfig(sigma_b2=float("nan"))
    with pytest.raises(ValueError, match="weights"):
        VerifyConfig(weights="unitary")
    with pytest.raises(ValueError, match="no_such"):
        VerifyConfig(activation="no_such")
    with pytest.raises(ValueError, match="pillar"):
        register_check("x.y", "physics", uses=())
    assert TANH.quick().width == 200 and VerifyConfig(width=100).quick().width == 100
