"""deeptheory.sweep: labelled sweeps, serially and on a real Dask LocalCluster.

The cluster tests start ``distributed.LocalCluster(n_workers=2, processes=True,
threads_per_worker=1)`` once for the module, run sweeps against its address (the path a
remote cluster takes), kill a worker process mid-sweep, and check the results are complete
and bitwise those of the serial run.  Teardown checks that no child process is left.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest

import deeptheory.meanfield as mf
from deeptheory import Estimate
from deeptheory._api import Result
from deeptheory.sweep import SweepMismatchError, open_sweep, point_seed, save_sweep, sweep

# ----------------------------------------------------------------------------- helpers
# module-level, so the worker processes can import them


@dataclass(frozen=True)
class Toy(Result):
    """A result with an estimate, an array, a string and a skipped field."""

    mean: Estimate
    curve: np.ndarray
    label: str
    junk: object = None


_INTERRUPT_AT: tuple | None = None  # (a, b) at which toy() raises KeyboardInterrupt


def toy(a, b=0.0, *, seed=0, fail_at=None, delay=0.0, log=None):
    """Gaussian samples around a + b from ``seed``; logs its calls, fails, sleeps on demand."""
    if log is not None:
        with open(log, "a") as f:
            f.write(f"{a} {b}\n")
    if _INTERRUPT_AT is not None and (a, b) == _INTERRUPT_AT:
        raise KeyboardInterrupt
    if delay:
        time.sleep(delay)
    if fail_at is not None and a == fail_at:
        raise ValueError(f"bad a = {a}")
    s = np.random.default_rng(seed).normal(a + b, 1.0, size=8)
    return Toy(Estimate.from_samples(s), np.cumsum(s), f"a={a}", junk=[np.zeros(2), 1])


def whoami(a):
    return float(os.getpid())


def vector_estimate(a, seed=0):
    s = np.random.default_rng(seed).normal(a, 1.0, size=(6, 3))
    return Estimate.from_samples(s)


def suicide(a):
    """Kills its worker process at a = 3."""
    if a == 3:
        os._exit(1)
    return 2.0 * a


def complex_and_dict(a):
    return {"z": complex(a, -a), "a": 2 * a, "pair": (a, "x")}


def _children() -> set[int]:
    """Live child processes, less multiprocessing's resource tracker (one per interpreter,
    started with the first worker process, ends with this process)."""
    import psutil

    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(
                    p.cmdline()):
                out.add(p.pid)
        except psutil.NoSuchProcess:
            pass
    return out


def _wait_children(expected: set[int], timeout: float = 15.0) -> set[int]:
    t = time.monotonic() + timeout
    while time.monotonic() < t:
        extra = _children() - expected
        if not extra:
            return set()
        time.sleep(0.2)
    return _children() - expected


PARAMS = {"a": [0.0, 1.0, 2.0, 3.0], "b": [0.0, 0.5]}

# ----------------------------------------------------------------------------- imports


def test_core_import_stays_free_of_sweep_dependencies():
    code = ("import json, sys; import deeptheory.meanfield, deeptheory.sweep; "
            "print(json.dumps([m for m in ('dask', 'distributed', 'xarray', 'tqdm', 'pandas') "
            "if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


# ----------------------------------------------------------------------------- serial


def test_result_mapping_coords_and_attrs():
    with pytest.warns(RuntimeWarning, match="2 of 8 points failed"):
        ds = sweep(toy, PARAMS, fixed={"fail_at": 2.0}, seed=7, scheduler="serial",
                   units={"a": "nats"})
    assert ds.sizes == {"a": 4, "b": 2, "curve_dim_0": 8}
    assert list(ds["a"].values) == PARAMS["a"] and ds["a"].attrs["units"] == "nats"
    assert set(ds.data_vars) == {"mean", "mean_stderr", "mean_n", "curve", "label", "error",
                                 "point_seed"}
    assert ds["curve"].dims == ("a", "b", "curve_dim_0")
    assert ds.attrs["skipped"] == "junk" and ds.attrs["n_failed"] == 2
    assert ds.attrs["function"] == f"{__name__}.toy" and ds.attrs["sweep_seed"] == 7
    # each point is the function at its coordinates with seed = point_seed(7, coords)
    pt = ds.sel(a=3.0, b=0.5)
    coords = {"a": 3.0, "b": 0.5}
    assert int(pt["point_seed"]) == point_seed(7, coords) == point_seed(7, pt.coords)
    ref = toy(3.0, 0.5, seed=point_seed(7, coords))
    assert float(pt["mean"]) == ref.mean.value and float(pt["mean_stderr"]) == ref.mean.stderr
    assert float(pt["mean_n"]) == 8 and str(pt["label"].values) == "a=3.0"
    np.testing.assert_array_equal(pt["curve"].values, ref.curve)
    # the failed point: NaN and its message; the others ran
    bad = ds.sel(a=2.0, b=0.0)
    assert str(bad["error"].values) == "ValueError: bad a = 2.0"
    assert np.isnan(float(bad["mean"])) and np.isnan(bad["curve"].values).all()
    assert str(ds.sel(a=2.0, b=0.5)["error"].values) == "ValueError: bad a = 2.0"
    assert (ds["error"].sel(a=[0.0, 1.0, 3.0]) == "").all()


def test_theory_function_by_name_and_outputs():
    sw = [0.5, 1.5, 2.5]
    ds = sweep("meanfield.chi1", {"sigma_w2": sw, "activation": ["tanh", "erf"]},
               fixed={"sigma_b2": 0.05}, scheduler="serial")
    assert "point_seed" not in ds and ds.attrs["seed_rule"] == "seed none"
    assert ds["sigma_w2"].attrs["long_name"].startswith("weight variance")
    for act in ("tanh", "erf"):
        np.testing.assert_array_equal(ds["chi1"].sel(activation=act).values,
                                      [mf.chi1(s, 0.05, act) for s in sw])
    ds2 = sweep(mf.chi1, {"sigma_w2": sw}, fixed={"sigma_b2": 0.05}, outputs="chi_1",
                scheduler="serial")
    np.testing.assert_array_equal(ds2["chi_1"].values, ds["chi1"].sel(activation="tanh"))
    # an Estimate with array values: value / stderr / n, stderr on value's dimensions
    ds3 = sweep(vector_estimate, {"a": [1, 2]}, scheduler="serial")
    assert ds3["value"].dims == ds3["stderr"].dims == ("a", "value_dim_0")
    # outputs: names (properties too), a callable; dicts, complex, tuples, name clashes
    ds4 = sweep(toy, PARAMS, outputs=["mean", "label"], scheduler="serial")
    assert set(ds4.data_vars) == {"mean", "mean_stderr", "mean_n", "label", "error",
                                  "point_seed"}
    ds5 = sweep(toy, PARAMS, outputs=lambda r: r.mean.value * 2, scheduler="serial")
    np.testing.assert_array_equal(ds5["toy"].values, 2 * ds4["mean"].values)
    ds6 = sweep(complex_and_dict, {"a": [1.0, 2.0]}, scheduler="serial")
    assert set(ds6.data_vars) == {"z", "a_out", "pair_0", "pair_1", "error"}
    assert ds6["z"].values[1] == 2 - 2j and list(ds6["pair_1"].values) == ["x", "x"]
    with pytest.warns(RuntimeWarning, match="AttributeError"):
        ds7 = sweep(toy, PARAMS, outputs=["nope"], scheduler="serial")
    assert (ds7["error"] != "").all()


def test_seeds_swept_fixed_and_derived():
    c1 = {"sigma_w2": 1.5, "width": 200}
    assert point_seed(0, c1) == point_seed(0, dict(reversed(c1.items())))
    assert point_seed(0, c1) != point_seed(1, c1)
    assert point_seed(0, {"w": 1}) != point_seed(0, {"w": 1.0})
    assert 0 <= point_seed(2**62, c1) < 2**31
    sw = sweep(toy, {"a": [1.0], "seed": [3, 4]}, scheduler="serial")
    assert "point_seed" not in sw and float(sw["mean"].sel(seed=4)[0]) == toy(1.0,
                                                                             seed=4).mean.value
    fx = sweep(toy, {"a": [1.0, 2.0]}, fixed={"seed": 5}, scheduler="serial")
    assert float(fx["mean"].sel(a=2.0)) == toy(2.0, seed=5).mean.value
    # ints mixed with floats are floats: the coordinate, the value passed and the seed agree
    ds = sweep(toy, {"a": [1, 2.5]}, scheduler="serial")
    assert ds["a"].dtype == np.float64
    assert int(ds["point_seed"].sel(a=1.0)) == point_seed(0, {"a": 1.0})


def test_store_resume_skips_finished_chunks(tmp_path, monkeypatch):
    global _INTERRUPT_AT
    log = tmp_path / "calls.txt"
    path = tmp_path / "sw"
    params = {"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [0.0, 1.0]}  # 12 points
    kw = dict(fixed={"log": str(log)}, seed=3, path=path, scheduler="serial", chunk_size=2)
    monkeypatch.setattr(sys.modules[__name__], "_INTERRUPT_AT", (3.0, 0.0))  # point 6
    with pytest.raises(KeyboardInterrupt):
        sweep(toy, params, **kw)
    assert sorted(p.name for p in path.glob("chunk_*.nc")) == [
        "chunk_00000.nc", "chunk_00001.nc", "chunk_00002.nc"]
    assert len(log.read_text().splitlines()) == 7
    with pytest.raises(ValueError, match="incomplete: 3 of 6 chunks"):
        open_sweep(path)
    part = open_sweep(path, allow_incomplete=True)
    assert (part["error"].sel(a=[3.0, 4.0, 5.0]) == "not computed").all()
    assert part.attrs["n_failed"] == 6
    mtimes = {p.name: p.stat().st_mtime_ns for p in path.glob("chunk_*.nc")}
    monkeypatch.setattr(sys.modules[__name__], "_INTERRUPT_AT", None)
    log.write_text("")
    ds = sweep(toy, params, **kw)  # resumes: only points 6..11 run
    assert log.read_text().splitlines() == [f"{a} {b}" for a in (3.0, 4.0, 5.0)
                                            for b in (0.0, 1.0)]
    assert all(p.stat().st_mtime_ns == mtimes[p.name] for p in path.glob("chunk_*.nc")
               if p.name in mtimes)
    assert ds.identical(open_sweep(path))
    whole = sweep(toy, params, fixed={"log": str(log)}, seed=3, scheduler="serial")
    assert ds.identical(whole)
    log.write_text("")
    assert sweep(toy, params, **kw).identical(ds) and log.read_text() == ""  # all done
    # the returned Dataset writes to netCDF-3 as it is
    ds.to_netcdf(tmp_path / "all.nc", engine="scipy")
    # complex outputs survive the files
    zc = sweep(complex_and_dict, {"a": [1.0, 2.0]}, path=tmp_path / "z", scheduler="serial")
    assert zc["z"].dtype == np.complex128 and zc["z"].values[0] == 1 - 1j


def test_store_refuses_another_sweep(tmp_path):
    path = tmp_path / "sw"
    sweep(toy, PARAMS, path=path, scheduler="serial", chunk_size=3)
    with pytest.raises(SweepMismatchError, match="different sweep.*params"):
        sweep(toy, {"a": [0.0, 1.0], "b": [0.0]}, path=path, scheduler="serial")
    with pytest.raises(SweepMismatchError, match="seed"):
        sweep(toy, PARAMS, path=path, scheduler="serial", seed=1)
    with pytest.raises(SweepMismatchError, match="function"):
        sweep(vector_estimate, {"a": PARAMS["a"], "seed": [0, 1]}, path=path,
              scheduler="serial")
    with pytest.raises(SweepMismatchError, match="chunk_size=3"):
        sweep(toy, PARAMS, path=path, scheduler="serial", chunk_size=2)
    sweep(toy, PARAMS, path=path, scheduler="serial")  # the same sweep: fine
    with pytest.raises(SweepMismatchError, match="order"):
        sweep(toy, dict(reversed(list(PARAMS.items()))), path=path, scheduler="serial")
    # the dimension order survives the manifest (JSON sorts its keys)
    rev = dict(reversed(list(PARAMS.items())))
    ds = sweep(toy, rev, path=tmp_path / "rev", scheduler="serial")
    assert list(ds.sizes)[:2] == list(rev) and open_sweep(tmp_path / "rev").identical(ds)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        sweep(toy, PARAMS, path=other, scheduler="serial")
    with pytest.raises(FileExistsError, match="not a directory"):
        sweep(toy, PARAMS, path=other / "notes.txt", scheduler="serial")
    with pytest.raises(FileNotFoundError, match="not a deeptheory sweep"):
        open_sweep(other)


def test_zarr_chunks_and_single_file_outputs(tmp_path, monkeypatch):
    pytest.importorskip("zarr")
    global _INTERRUPT_AT
    params = {"a": [0.0, 1.0, 2.0], "b": [0.0, 1.0]}
    ref = sweep(toy, params, seed=5, scheduler="serial")
    # chunks as Zarr stores: interrupted, resumed, equal to the in-memory sweep
    path = tmp_path / "zsw"
    kw = dict(seed=5, path=path, store="zarr", scheduler="serial", chunk_size=2)
    monkeypatch.setattr(sys.modules[__name__], "_INTERRUPT_AT", (2.0, 0.0))  # point 4
    with pytest.raises(KeyboardInterrupt):
        sweep(toy, params, **kw)
    assert sorted(p.name for p in path.iterdir() if p.name.startswith("chunk")) == [
        "chunk_00000.zarr", "chunk_00001.zarr"]
    assert not [p for p in path.iterdir() if p.name.startswith(".")]  # no temporaries left
    monkeypatch.setattr(sys.modules[__name__], "_INTERRUPT_AT", None)
    ds = sweep(toy, params, **kw)
    assert ds.identical(ref) and open_sweep(path).identical(ref)
    assert json.loads((path / "sweep.json").read_text())["store"] == "zarr"
    with pytest.raises(SweepMismatchError, match="store='zarr'"):
        sweep(toy, params, seed=5, path=path, scheduler="serial", chunk_size=2)
    # one netCDF file or one Zarr store, complex numbers and strings included
    zc = sweep(complex_and_dict, {"a": [1.0, 2.0]}, scheduler="serial")
    for res in (ref, zc):
        for name in ("one.nc", "one.zarr"):
            target = tmp_path / f"{len(res.data_vars)}_{name}"
            assert save_sweep(res, target) == target
            back = open_sweep(target)
            assert back.identical(res), name
            assert back["error"].dtype == object
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_sweep(ref, target)
    save_sweep(zc, target, overwrite=True)
    assert open_sweep(target).identical(zc)
    with pytest.raises(ValueError, match=r"\.nc.*\.zarr"):
        save_sweep(ref, tmp_path / "x.h5")
    with pytest.raises(TypeError, match="xarray.Dataset"):
        save_sweep({"a": 1}, tmp_path / "x.nc")
    plain = tmp_path / "plain.zarr"
    plain.mkdir()
    (plain / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a Zarr store"):
        save_sweep(ref, plain, overwrite=True)
    with pytest.raises(ValueError, match="store must be one of"):
        sweep(toy, params, path=tmp_path / "q", store="hdf5", scheduler="serial")
    with pytest.raises(FileNotFoundError, match="no sweep"):
        open_sweep(tmp_path / "nothing.nc")


@pytest.mark.parametrize("func, params, kw, exc, match", [
    ("meanfield.chi", {"sigma_w2": [1.0]}, {}, ValueError, "no 'chi'.*chi1"),
    ("nomodule.f", {"a": [1]}, {}, ValueError, "no module deeptheory.nomodule"),
    ("chi1", {"a": [1]}, {}, ValueError, "subpackage.function"),
    (42, {"a": [1]}, {}, TypeError, "callable"),
    ("meanfield.simulate_chi1", {"sigma_w2": [1.0], "sigmab2": [0.0]}, {}, ValueError,
     "no parameter 'sigmab2'.*did you mean 'sigma_b2'"),
    ("meanfield.chi1", {"sigma_w": [1.0]}, {"fixed": {"sigma_b2": 0.0}}, ValueError,
     "no parameter 'sigma_w'.*sigma_w2"),
    ("meanfield.chi1", {"sigma_w2": [1.0]}, {}, ValueError, "needs 'sigma_b2'"),
    (toy, {"a": []}, {}, ValueError, "empty"),
    (toy, {}, {}, ValueError, "params is empty"),
    (toy, {"a": 1.0}, {}, TypeError, "list of values"),
    (toy, {"a": [1.0, 1.0]}, {}, ValueError, "repeated"),
    (toy, {"a": [1.0, "x"]}, {}, TypeError, "mixes"),
    (toy, {"a": [None]}, {}, TypeError, "numbers, bools or strings"),
    (toy, {"error": [1]}, {}, ValueError, "reserved"),
    (toy, {"a": [1]}, {"fixed": {"a": 2}}, ValueError, "both params and fixed"),
    (toy, {"a": [1]}, {"chunk_size": 0}, ValueError, "chunk_size"),
    (toy, {"a": [1]}, {"timeout": 0}, ValueError, "timeout"),
    (toy, {"a": [1]}, {"scheduler": 3}, TypeError, "scheduler"),
    (toy, {"a": [1]}, {"progress": "yes"}, TypeError, "progress"),
    (toy, {"a": [1]}, {"seed": -1}, ValueError, "seed"),
    (toy, {"a": [1]}, {"outputs": 3}, TypeError, "outputs"),
])
def test_bad_input(func, params, kw, exc, match):
    with pytest.raises(exc, match=match):
        sweep(func, params, **{"scheduler": "serial", **kw})


def test_unreachable_scheduler_fails_fast():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    t0 = time.monotonic()
    with pytest.raises(ConnectionError, match=f"cannot reach the Dask scheduler.*{port}"):
        sweep(toy, {"a": [1.0]}, scheduler=f"tcp://127.0.0.1:{port}", timeout=2)
    assert time.monotonic() - t0 < 20


def test_progress_bar_serial(capsys):
    sweep(toy, PARAMS, scheduler="serial", progress=True)
    assert "8/8" in capsys.readouterr().err


# ----------------------------------------------------------------------------- LocalCluster


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    before = _children()
    lc = LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                      env={"NUMBA_NUM_THREADS": "1"})
    client = Client(lc, set_as_default=False)
    try:
        yield lc, client
    finally:
        client.close()
        lc.close()
    assert _wait_children(before) == set(), "the cluster left processes behind"


def test_local_cluster_equals_serial(cluster):
    lc, client = cluster
    addr = lc.scheduler_address
    kw = dict(params={"sigma_w2": [1.0, 2.0], "width": [30, 60]},
              fixed={"sigma_b2": 0.05, "depth": 6, "n_trials": 3}, seed=11)
    serial = sweep("meanfield.simulate_chi1", scheduler="serial", **kw)
    remote = sweep("meanfield.simulate_chi1", scheduler=addr, chunk_size=1, **kw)
    assert remote.identical(serial)
    assert sweep(toy, PARAMS, scheduler=client, chunk_size=3).identical(
        sweep(toy, PARAMS, scheduler="serial"))


def test_worker_killed_mid_sweep(cluster, tmp_path):
    lc, client = cluster
    client.wait_for_workers(2, timeout=60)
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    path = tmp_path / "sw"
    params = {"a": [float(i) for i in range(8)], "b": [0.0, 1.0]}  # 16 chunks of 0.3 s
    state: dict = {}

    def killer() -> None:
        t_end = time.monotonic() + 60
        while time.monotonic() < t_end:
            n_done = len(list(path.glob("chunk_*.nc")))
            if n_done >= 2:
                state["done_at_kill"] = n_done
                os.kill(victim, signal.SIGKILL)
                return
            time.sleep(0.01)

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    ds = sweep(toy, params, fixed={"delay": 0.3}, seed=5, path=path,
               scheduler=lc.scheduler_address, chunk_size=1, timeout=30)
    th.join(5)
    assert 2 <= state["done_at_kill"] < 16, state
    assert ds.attrs["n_failed"] == 0 and (ds["error"] == "").all()
    assert len(list(path.glob("chunk_*.nc"))) == 16
    serial = sweep(toy, params, fixed={"delay": 0.0}, seed=5, scheduler="serial")
    assert ds.equals(serial)  # every value bitwise; only the fingerprint's 'fixed' differs
    client.wait_for_workers(2, timeout=60)
    assert victim not in client.run(os.getpid).values()


def test_env_var_and_embedded_cluster(cluster, monkeypatch):
    lc, client = cluster
    worker_pids = set(client.run(os.getpid).values())
    monkeypatch.setenv("DEEPTHEORY_SCHEDULER", lc.scheduler_address)
    ds = sweep(whoami, {"a": [1, 2, 3, 4]}, chunk_size=1)
    assert set(ds["whoami"].values.astype(int)) <= worker_pids
    monkeypatch.setenv("DEEPTHEORY_SCHEDULER", "serial")
    assert set(sweep(whoami, {"a": [1, 2]})["whoami"].values) == {float(os.getpid())}
    with pytest.raises(ValueError, match="n_workers applies to the embedded"):
        sweep(whoami, {"a": [1]}, scheduler=lc.scheduler_address, n_workers=2)
    # None and no variable: an embedded LocalCluster, closed afterwards
    monkeypatch.delenv("DEEPTHEORY_SCHEDULER")
    before, env = _children(), dict(os.environ)
    ds = sweep(whoami, {"a": [1, 2, 3, 4]}, chunk_size=1, n_workers=2)
    got = set(ds["whoami"].values.astype(int))
    assert os.getpid() not in got and not got & worker_pids
    assert _wait_children(before) == set()
    assert dict(os.environ) == env  # the nanny's variables do not leak into this process


def test_scheduler_without_workers_times_out():
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": ":0"}) as lc:
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match="no Dask worker"):
            sweep(toy, {"a": [1.0]}, scheduler=lc.scheduler_address, timeout=2)
        assert time.monotonic() - t0 < 20


def test_chunk_lost_on_the_cluster_is_reported_and_not_saved(tmp_path):
    """A chunk that kills its worker (KilledWorker: no retries allowed here) is NaN with the
    message, and is not saved, so a rerun retries it."""
    import dask
    from distributed import LocalCluster

    path = tmp_path / "sw"
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=1, processes=True, threads_per_worker=1,
                         dashboard_address=None,
                         scheduler_kwargs={"dashboard_address": ":0"}) as lc:
        with pytest.warns(RuntimeWarning, match="lost on the cluster were not saved"):
            ds = sweep(suicide, {"a": [1, 2, 3]}, path=path, scheduler=lc.scheduler_address,
                       chunk_size=1)
    err = ds["error"].values
    assert "KilledWorker" in err[2] and np.isnan(ds["suicide"].values[2])
    assert not (path / "chunk_00002.nc").exists()
    for i in range(3):  # lost chunks are not saved; the others are, with their values
        assert (path / f"chunk_{i:05d}.nc").exists() == (err[i] == "")
        if err[i] == "":
            assert ds["suicide"].values[i] == 2.0 * (i + 1)
