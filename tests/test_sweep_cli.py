"""``deeptheory sweep``: the command line of deeptheory.sweep.sweep, in-process."""

from __future__ import annotations

import socket

import numpy as np
import pytest

import deeptheory.meanfield as mf
from deeptheory.cli import main
from deeptheory.sweep import open_sweep, sweep
from deeptheory.sweep._cli import parse_value

ARGS = ["meanfield.chi1", "--param", "sigma_w2=0.5,1.5,2.5", "--param",
        "activation=tanh,erf", "--fixed", "sigma_b2=0.05", "--scheduler", "serial"]


def test_cli_sweep_equals_the_library_call_and_resumes(tmp_path, capsys):
    out = tmp_path / "sw"
    assert main(["sweep", *ARGS, "--out", str(out), "--save", str(tmp_path / "all.nc")]) == 0
    printed = capsys.readouterr()
    assert "6 points (sigma_w2=3, activation=2), 0 failed" in printed.out
    assert "sweep chi1" in printed.err and "6/6" in printed.err  # the progress bar
    ref = sweep("meanfield.chi1", {"sigma_w2": [0.5, 1.5, 2.5], "activation": ["tanh", "erf"]},
                fixed={"sigma_b2": 0.05}, scheduler="serial")
    assert open_sweep(out).identical(ref)
    assert open_sweep(tmp_path / "all.nc").identical(ref)
    # the values are the library's: chi_1 of the mean-field theory at every point
    for act in ("tanh", "erf"):
        np.testing.assert_array_equal(ref["chi1"].sel(activation=act).values,
                                      mf.chi1([0.5, 1.5, 2.5], 0.05, act))
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("chunk_*")}
    assert main(["sweep", *ARGS, "--out", str(out), "--no-progress"]) == 0  # resumes: done
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("chunk_*")} == mtimes
    assert capsys.readouterr().err == ""


def test_cli_sweep_failed_points_exit_1(tmp_path, capsys):
    argv = ["sweep", "meanfield.chi1", "--param", "sigma_w2=-1,1", "--fixed", "sigma_b2=0",
            "--scheduler", "serial", "--out", str(tmp_path / "f"), "--no-progress"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "1 failed" in captured.out and "sigma_w2" in captured.err


def test_cli_sweep_zarr_chunks(tmp_path, capsys):
    pytest.importorskip("zarr")
    out = tmp_path / "z"
    assert main(["sweep", *ARGS, "--out", str(out), "--store", "zarr", "--no-progress",
                 "--save", str(tmp_path / "one.zarr")]) == 0
    assert sorted(p.suffix for p in out.glob("chunk_*"))[0] == ".zarr"
    assert open_sweep(out).identical(open_sweep(tmp_path / "one.zarr"))


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("extra, words", [
    (["meanfield.chi1", "--out", "o"], ["--param"]),
    (["meanfield.chi1", "--param", "sigma_w2", "--out", "o"], ["NAME=VALUE"]),
    (["meanfield.chi1", "--param", "sigma_w2=1,,2", "--out", "o"], ["empty value"]),
    (["meanfield.chi1", "--param", "sigma_w2=1", "--param", "sigma_w2=2", "--out", "o"],
     ["given twice"]),
    (["meanfield.chi1", "--param", "sigma_w2=1", "--fixed", "x", "--out", "o"], ["--fixed"]),
    (["meanfield.nothing", "--param", "sigma_w2=1", "--out", "o"], ["no 'nothing'"]),
    (["meanfield.chi1", "--param", "sigma_w2=1", "--out", "o"], ["needs 'sigma_b2'"]),
    ([*ARGS, "--out", "o", "--save", "x.csv"], ["--save", ".nc or .zarr"]),
    ([*ARGS, "--out", "o", "--seed", "-2"], ["--seed"]),
    ([*ARGS, "--out", "o", "--store", "hdf5"], ["--store"]),
    ([*ARGS[:-2], "--out", "o", "--timeout", "2", "--scheduler", "tcp://127.0.0.1:{port}"],
     ["cannot reach the Dask scheduler"]),
])
def test_cli_sweep_bad_input(tmp_path, monkeypatch, capsys, extra, words):
    monkeypatch.chdir(tmp_path)
    argv = ["sweep", *[a.format(port=_free_port()) for a in extra]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("deeptheory sweep: error:") and len(err.strip().splitlines()) == 1
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "o" / "sweep.json").exists() or "Dask" in words[0]


def test_cli_sweep_help_and_values(capsys):
    assert main(["sweep", "--help"]) == 0
    assert "--scheduler" in capsys.readouterr().out
    assert [parse_value(s) for s in ("3", "-2", "1.5", "1e-3", "true", "False", "tanh")] == [
        3, -2, 1.5, 1e-3, True, False, "tanh"]
