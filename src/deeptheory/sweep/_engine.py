"""sweep(): a function over the outer product of parameter lists, serially or on Dask."""

from __future__ import annotations

import difflib
import functools
import hashlib
import importlib
import inspect
import json
import logging
import math
import os
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

from .._api import as_seed
from .._progress import check_progress, progress_bar
from . import _store
from ._convert import RESERVED, chunk_dataset, flatten_result

__all__ = ["SCHEDULER_ENV", "SweepMismatchError", "local_cluster", "point_seed",
           "resolve_function", "sweep"]

#: environment variable naming the default scheduler ("tcp://host:8786", "serial", "local")
SCHEDULER_ENV = "DEEPTHEORY_SCHEDULER"
#: at most this many chunks by default (chunk_size = ceil(points / MAX_DEFAULT_CHUNKS))
MAX_DEFAULT_CHUNKS = 128
#: environment of the embedded cluster's workers (one compute thread per process), applied
#: unless the variable is already set in this process
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1"}
SEED_RULE = ("point_seed(sweep_seed, coords): SeedSequence([sweep_seed, w0, w1, w2, w3])"
             ".generate_state(1, uint32)[0] >> 1, where w0..w3 are the first 16 bytes "
             "(little-endian uint32) of sha256 of the JSON of the point's sorted (name, "
             "tagged value) coordinate items; passed as seed= to the function")


class SweepMismatchError(ValueError):
    """The sweep directory holds a different sweep (function, parameters, fixed arguments,
    seed, outputs or deeptheory version differ) or a different chunking."""


# ----------------------------------------------------------------------------- functions


@functools.lru_cache(maxsize=64)
def _resolve_name(name: str) -> Callable:
    dotted = name[len("deeptheory."):] if name.startswith("deeptheory.") else name
    if "." not in dotted:
        raise ValueError(f"unknown function {name!r}: give 'subpackage.function' within "
                         "deeptheory, e.g. 'meanfield.chi1', or a callable")
    mod_name, attr = dotted.rsplit(".", 1)
    try:
        mod = importlib.import_module(f"deeptheory.{mod_name}")
    except ModuleNotFoundError:
        raise ValueError(f"unknown function {name!r}: there is no module "
                         f"deeptheory.{mod_name}") from None
    try:
        fn = getattr(mod, attr)
    except AttributeError:
        public = list(getattr(mod, "__all__", [n for n in dir(mod) if not n.startswith("_")]))
        near = difflib.get_close_matches(attr, public, n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise ValueError(f"unknown function {name!r}: deeptheory.{mod_name} has no "
                         f"{attr!r}{hint}") from None
    if not callable(fn):
        raise TypeError(f"{name!r} is not callable (it is a {type(fn).__name__})")
    return fn


def resolve_function(func: Any) -> tuple[Callable, str]:
    """(callable, full name) of ``func``: a callable, or a dotted name within deeptheory
    such as "meanfield.chi1" or "deeptheory.rmt.sample_jacobian_singular_values"."""
    if isinstance(func, str):
        fn = _resolve_name(func)
    elif callable(func):
        fn = func
    else:
        raise TypeError(f"func must be a callable or a dotted name such as 'meanfield.chi1', "
                        f"got {func!r}")
    full = _store.canon(fn)
    return fn, full if isinstance(full, str) else repr(fn)


def _leaf_name(fn: Callable) -> str:
    n = getattr(fn, "__name__", "")
    return n if n.isidentifier() else "value"


# ----------------------------------------------------------------------------- seeds


def _tag(v: Any) -> list:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool):
        return ["b", v]
    if isinstance(v, int):
        return ["i", v]
    if isinstance(v, float):
        return ["f", float.hex(v)]
    if isinstance(v, str):
        return ["s", v]
    raise TypeError(f"coordinate values must be numbers, bools or strings, got {v!r}")


def point_seed(seed: int, coords: Mapping[str, Any]) -> int:
    """The seed that :func:`sweep` passes to the function at the point ``coords``.

    ``coords``: the point's parameter values by name (e.g. ``{"sigma_w2": 1.5, "width":
    200}``, or ``ds.isel(...).coords`` of a sweep's Dataset).  The seed depends only on
    the sweep seed and these (name, value) pairs, not on their order, the chunking, the
    machine or the worker, so one point can be recomputed alone::

        f(**coords, **fixed, seed=point_seed(sweep_seed, coords))

    Rule: SeedSequence([seed, w0..w3]).generate_state(1, uint32)[0] >> 1, with w0..w3 the
    first 16 bytes of sha256 of the JSON of the sorted (name, tagged value) items (floats
    as their exact hex form, so 1 and 1.0 differ: :func:`sweep` stores a parameter list
    with any float as floats).  Result in [0, 2**31), leaving room for the per-trial seeds
    of the compiled samplers (O'Neill 2014 on seeding; numpy's SeedSequence).
    """
    s = as_seed(seed, "seed") if not isinstance(seed, np.random.Generator) else None
    if s is None:
        raise TypeError("point_seed needs an int sweep seed, not a Generator")
    items = []
    for k, v in coords.items():
        if hasattr(v, "values") and not isinstance(v, (str, np.generic)):
            v = np.asarray(v.values).item()  # an xarray coordinate
        items.append([str(k), _tag(v)])
    items.sort()
    h = hashlib.sha256(json.dumps(items, separators=(",", ":")).encode()).digest()
    words = np.frombuffer(h[:16], dtype="<u4").tolist()
    ss = np.random.SeedSequence([s, *words])
    return int(ss.generate_state(1, dtype=np.uint32)[0] >> 1)


# ----------------------------------------------------------------------------- checks


def _param_values(name: str, values: Any) -> list:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"params[{name!r}] must be a list of values, got {values!r} (wrap a "
                        "single value in a list, or pass it in fixed=)")
    vals = list(values.tolist() if isinstance(values, np.ndarray) else values)
    if not vals:
        raise ValueError(f"params[{name!r}] is empty: every parameter needs at least one value")
    norm = []
    for v in vals:
        if isinstance(v, np.generic):
            v = v.item()
        if not isinstance(v, (bool, int, float, str)):
            raise TypeError(f"params[{name!r}] must hold numbers, bools or strings, got "
                            f"{v!r} ({type(v).__name__}); pass other objects in fixed=")
        norm.append(v)
    kinds = {("s" if isinstance(v, str) else "b" if isinstance(v, bool) else "n")
             for v in norm}
    if len(kinds) > 1:
        raise TypeError(f"params[{name!r}] mixes strings, bools and numbers: {norm!r}")
    if kinds == {"n"} and any(isinstance(v, float) for v in norm):
        norm = [float(v) for v in norm]  # the coordinate's dtype, and the values passed
    if len({json.dumps(_tag(v)) for v in norm}) != len(norm):
        raise ValueError(f"params[{name!r}] has repeated values: {norm!r}")
    return norm


def _check_params(params: Any) -> dict[str, list]:
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of name -> list of values, got "
                        f"{type(params).__name__}")
    if not params:
        raise ValueError("params is empty: give at least one parameter and its values")
    out = {}
    for k, v in params.items():
        if not isinstance(k, str) or not k.isidentifier():
            raise ValueError(f"parameter names must be identifiers, got {k!r}")
        if k in RESERVED:
            raise ValueError(f"{k!r} is reserved by the sweep (its variables {RESERVED}); "
                             "rename the parameter")
        out[k] = _param_values(k, v)
    return out


def _check_signature(fn: Callable, name: str, params: dict, fixed: dict) -> bool:
    """Raise for names the function does not take and required ones not given; return
    whether it takes ``seed``."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # no signature (some builtins): pass seed only if given
        return False
    ps = sig.parameters
    kinds = inspect.Parameter
    var_kw = any(p.kind == kinds.VAR_KEYWORD for p in ps.values())
    named = [n for n, p in ps.items() if p.kind in (kinds.POSITIONAL_OR_KEYWORD,
                                                   kinds.KEYWORD_ONLY)]
    given = [*params, *fixed]
    unknown = [k for k in given if k not in named]
    near = {k: difflib.get_close_matches(k, named, n=1, cutoff=0.75) for k in unknown}
    if var_kw:  # **kwargs takes any name: flag only near misses of named parameters
        unknown = [k for k in unknown if near[k]]
    if unknown:
        hint = "".join(f"; {k!r}: did you mean {near[k][0]!r}?" for k in unknown if near[k])
        extra = (f" (it takes **{next(n for n, p in ps.items() if p.kind == kinds.VAR_KEYWORD)}"
                 ", but these look like misspelt parameters)") if var_kw else ""
        raise ValueError(f"{name}() takes no parameter {', '.join(map(repr, unknown))}{extra} "
                         f"(its parameters: {', '.join(named)}){hint}")
    takes_seed = "seed" in named
    missing = [n for n, p in ps.items()
               if p.default is p.empty and n not in given and not (n == "seed" and takes_seed)
               and p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD,
                              kinds.KEYWORD_ONLY)]
    if missing:
        raise ValueError(f"{name}() needs {', '.join(map(repr, missing))}: give "
                         f"{'it' if len(missing) == 1 else 'them'} in params= or fixed=")
    return takes_seed


def _check_outputs(outputs: Any) -> Any:
    if outputs is None or callable(outputs):
        return outputs
    if isinstance(outputs, str):
        return outputs
    if isinstance(outputs, (list, tuple)) and outputs and all(isinstance(o, str)
                                                                for o in outputs):
        return tuple(outputs)
    raise TypeError(f"outputs must be None, a name, a list of names or a callable, got "
                    f"{outputs!r}")


# ----------------------------------------------------------------------------- execution


@dataclass(frozen=True)
class _Job:
    """What every chunk needs: shipped to the workers with each chunk."""

    func: Any  # a dotted name (resolved on the worker) or a callable
    fixed: dict
    outputs: Any
    name: str
    reserved: tuple


def _describe(e: BaseException) -> str:
    msg = f"{type(e).__name__}: {e}"
    return msg if len(msg) <= 2000 else msg[:1997] + "..."


def _run_chunk(job: _Job, points: list, on_point: Callable | None = None) -> list:
    """Run the points (index, kwargs, seed or None) of one chunk; never raises for a point."""
    fn = _resolve_name(job.func) if isinstance(job.func, str) else job.func
    rows = []
    for idx, kw, sd in points:
        call = {**job.fixed, **kw}
        if sd is not None:
            call["seed"] = sd
        try:
            res = fn(**call)
            vars_, own, skipped = flatten_result(res, name=job.name, outputs=job.outputs,
                                                 reserved=job.reserved)
            rows.append((idx, None, vars_, own, skipped))
        except Exception as e:  # noqa: BLE001 - a failed point is recorded, not raised
            rows.append((idx, _describe(e), None, None, None))
        if on_point is not None:
            on_point()
    return rows


def _worker_version() -> str:
    from .. import __version__

    return __version__


def _resolve_scheduler(scheduler: Any) -> Any:
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV, "").strip() or "local"
    if isinstance(scheduler, str):
        s = scheduler.strip()
        if s in ("serial", "local"):
            return s
        if not s:
            raise ValueError("scheduler is an empty string")
        return s
    if type(scheduler).__name__ == "Client" and hasattr(scheduler, "submit"):
        return scheduler
    raise TypeError(f"scheduler must be None, 'serial', 'local', an address such as "
                    f"'tcp://host:8786' or a distributed.Client, got {scheduler!r}")


def _n_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


#: the value distributed's nanny gives MALLOC_TRIM_THRESHOLD_ (and leaks into os.environ)
_DASK_TRIM = "65536"


def local_cluster(n_workers: int | None = None, **kwargs: Any) -> Any:
    """The ``distributed.LocalCluster`` that :func:`sweep` embeds, to reuse for many sweeps.

    ``n_workers`` processes (default one per core) of one thread each, Numba / OpenMP /
    BLAS threads 1 (unless set in this process), no dashboard port, logs at ERROR.  glibc's
    malloc keeps its dynamic thresholds in the workers: distributed sets
    MALLOC_TRIM_THRESHOLD_=65536 by default, which returns every freed weight matrix to the
    OS and made simulate_chi1 (width 200) spend 20 % more CPU in page faults; a value set
    in this process before is kept.  The environment of this process is restored after the
    start (distributed's nanny writes its variables into it).  ``kwargs`` go to
    LocalCluster.  Close it (``with local_cluster() as lc: sweep(...,
    scheduler=lc.scheduler_address)``) to stop its processes (Rocklin 2015, Dask).
    """
    import dask
    from distributed import LocalCluster

    nw = n_workers or _n_cores()
    env = {k: v for k, v in WORKER_ENV.items() if k not in os.environ}
    env.update(kwargs.pop("env", {}))
    saved = dict(os.environ)
    trim_leaked = os.environ.get("MALLOC_TRIM_THRESHOLD_") == _DASK_TRIM
    opts = dict(n_workers=nw, threads_per_worker=1, processes=True, dashboard_address=None,
                silence_logs=logging.ERROR, scheduler_kwargs={"dashboard_address": ":0"})
    opts.update(kwargs)
    try:
        if trim_leaked:
            del os.environ["MALLOC_TRIM_THRESHOLD_"]
        over = {} if "MALLOC_TRIM_THRESHOLD_" in os.environ else {
            "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
        with dask.config.set(over):
            return LocalCluster(env=env, **opts)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _connect(sched: Any, timeout: float, n_workers: int | None) -> tuple[Any, Any, bool]:
    """(client, cluster or None, whether to close the client)."""
    from distributed import Client

    if not isinstance(sched, str):
        return sched, None, False
    if sched == "local":
        cluster = local_cluster(n_workers)
        try:
            client = Client(cluster, timeout=timeout, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
        return client, cluster, True
    if n_workers is not None:
        raise ValueError("n_workers applies to the embedded local cluster only (the workers "
                         f"of {sched} are the ones started there)")
    t0 = time.monotonic()
    try:
        client = Client(sched, timeout=timeout, set_as_default=False)
    except Exception as e:  # noqa: BLE001 - OSError, TimeoutError, ValueError (bad address)
        raise ConnectionError(
            f"cannot reach the Dask scheduler at {sched!r} within {timeout:g} s "
            f"({_describe(e)}); start one with 'dask scheduler' and workers with "
            f"'dask worker {sched}', or use scheduler='serial' / None (local cluster)"
        ) from None
    try:
        left = max(1.0, timeout - (time.monotonic() - t0))
        try:
            client.wait_for_workers(1, timeout=left)
        except Exception:  # noqa: BLE001 - TimeoutError from distributed
            raise TimeoutError(f"no Dask worker is connected to {sched} (waited {timeout:g} "
                               f"s): start one with 'dask worker {sched}'") from None
    except BaseException:
        client.close()
        raise
    return client, None, True


def _check_workers(client: Any) -> None:
    from .. import __version__

    try:
        versions = client.run(_worker_version)
    except Exception as e:  # noqa: BLE001
        raise RuntimeError(f"the Dask workers cannot run deeptheory ({_describe(e)}): install "
                           f"deeptheory {__version__} on every worker") from None
    bad = {w: v for w, v in versions.items() if v != __version__}
    if bad:
        raise RuntimeError(f"Dask workers run another deeptheory version than this client "
                           f"({__version__}): {bad}; install the same version everywhere")


@contextmanager
def dask_client(sched: Any, timeout: float = 30.0, n_workers: int | None = None
                ) -> Iterator[Any]:
    """A checked ``distributed.Client`` for a resolved scheduler ("local", an address or a
    Client): reached within ``timeout`` (ConnectionError / TimeoutError otherwise), its
    workers running this deeptheory version (RuntimeError otherwise); closed on exit, with
    the embedded cluster it started (a Client passed in stays open)."""
    client, cluster, close = _connect(sched, timeout, n_workers)
    try:
        _check_workers(client)
        yield client
    finally:
        if close:
            client.close()
        if cluster is not None:
            cluster.close()


# ----------------------------------------------------------------------------- sweep


def _prepare_path(path: Path, desc: dict, chunk_size: int | None, n: int,
                  store: str) -> tuple[dict, bool]:
    """(manifest, resuming): create the directory and manifest, or check the existing one."""
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"path {str(path)!r} exists and is not a directory (a sweep "
                              "is stored as a directory of chunk files)")
    if path.is_dir() and (path / _store.MANIFEST).exists():
        man = _store.read_manifest(path)
        if man.get("fingerprint") != desc["fingerprint"]:
            diffs = [k for k in _store.FINGERPRINT_KEYS if man.get(k) != desc[k]]
            detail = "; ".join(f"{k}: stored {json.dumps(man.get(k))[:200]}, now "
                               f"{json.dumps(desc[k])[:200]}" for k in diffs)
            raise SweepMismatchError(
                f"{path} holds a different sweep ({detail or 'fingerprint differs'}); "
                "refusing to mix them: choose another path, or delete it to start over")
        if _store.param_order(man) != desc["param_order"]:
            raise SweepMismatchError(f"{path} sweeps the parameters in the order "
                                     f"{_store.param_order(man)}; give params in that order "
                                     "to resume")
        if chunk_size is not None and chunk_size != man["chunk_size"]:
            raise SweepMismatchError(f"{path} was chunked with chunk_size="
                                     f"{man['chunk_size']}; pass that (or None) to resume")
        if man.get("store", "netcdf") != store:
            raise SweepMismatchError(f"{path} stores its chunks as {man.get('store', 'netcdf')}"
                                     f"; pass store={man.get('store', 'netcdf')!r} to resume")
        return man, True
    if path.is_dir() and any(path.iterdir()):
        raise FileExistsError(f"path {str(path)!r} exists, is not empty and holds no "
                              f"deeptheory sweep (no {_store.MANIFEST}); choose another path")
    path.mkdir(parents=True, exist_ok=True)
    cs = chunk_size or max(1, math.ceil(n / MAX_DEFAULT_CHUNKS))
    man = {**desc, "format": _store.FORMAT, "chunk_size": cs, "n_points": n,
           "n_chunks": math.ceil(n / cs), "store": store,
           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _store.write_manifest(path, man)
    return man, False


def sweep(
    func: Callable | str,
    params: Mapping[str, Any],
    *,
    fixed: Mapping[str, Any] | None = None,
    seed: int | None = 0,
    outputs: Any = None,
    path: str | os.PathLike | None = None,
    store: str = "netcdf",
    scheduler: Any = None,
    chunk_size: int | None = None,
    n_workers: int | None = None,
    progress: bool = False,
    timeout: float = 30.0,
    units: Mapping[str, str] | None = None,
) -> Any:
    """Run ``func`` at every point of the outer product of ``params``; an xarray Dataset.

    Parameters
    ----------
    func : a callable, or a dotted name within deeptheory ("meanfield.chi1",
        "meanfield.simulate_chi1", "rmt.sample_jacobian_singular_values", ...).
    params : name -> list of values (numbers, bools or strings; no repeats), swept as an
        outer product in the given order: the dimensions of the result.  A list with any
        float is stored and passed as floats.
    fixed : name -> value passed unchanged at every point (any object).
    seed : the sweep seed (int >= 0; None draws one, recorded in the attributes).  When
        ``func`` takes ``seed`` and it is neither swept nor fixed, each point gets
        :func:`point_seed` (seed, its coordinates): results do not depend on the
        scheduler, the number of workers or the chunking (bitwise).
    outputs : what to keep of each result: None (everything, mapped as below), a name (an
        attribute or key of the result, or the variable name of a plain number / array),
        a list of names (attributes, properties included, or keys), or a callable
        result -> value applied on the worker.
    path : a directory: the sweep is written there chunk by chunk (netCDF-3, one file
        per chunk, plus ``sweep.json``); running the same call again resumes, skipping
        finished chunks; a directory holding another sweep is refused
        (:class:`SweepMismatchError`).  None: results stay in memory.  To keep the
        result as one file, :func:`save_sweep` (``.nc`` or ``.zarr``).
    store : the format of the chunks under ``path``: "netcdf" (netCDF-3 files, nothing
        extra to install) or "zarr" (Zarr stores, ``pip install 'deeptheory[zarr]'``).
    scheduler : None (the environment variable DEEPTHEORY_SCHEDULER, else "local"),
        "local" (an embedded ``distributed.LocalCluster``: ``n_workers`` processes, default
        one per core, one thread each, Numba / BLAS threads 1), "serial" (this process, no
        Dask), an address "tcp://host:8786" of a running Dask scheduler, or a
        ``distributed.Client``.
    chunk_size : points per task and per file (default ceil(points / 128)).
    n_workers : worker processes of the embedded cluster.
    progress : a progress bar (tqdm on stderr) of the points done.
    timeout : seconds to reach the scheduler (and its first worker) before ConnectionError
        / TimeoutError.
    units : name -> units string for parameters or output variables (attributes).

    Returns
    -------
    xarray.Dataset with one dimension per parameter (coordinates = the values), data
    variables from the results: a number or array -> a variable named after the function
    (extra axes -> dimensions ``<var>_dim_<i>``); an :class:`~deeptheory.Estimate` ->
    ``value``, ``stderr``, ``n`` (a field ``f`` holding one -> ``f``, ``f_stderr``,
    ``f_n``); a Result dataclass or dict -> one variable per field (nested ones joined with
    ``_``); numbers as float64.  ``error`` holds "ExceptionType: message" at points whose
    call raised (their variables are NaN; the sweep goes on and warns at the end), "" at
    the others; ``point_seed`` the seed each point got.  Attributes: function, deeptheory
    version, sweep seed and seed rule, fixed arguments, conventions, units.  The same
    Dataset as :func:`open_sweep` (path).

    Dask runs each chunk as one task and writes (or keeps) its result as it arrives; a
    worker that dies is replaced and its chunk rerun (Rocklin 2015, Dask).
    """
    from .. import __version__

    fn, full = resolve_function(func)
    prm = _check_params(params)
    fx = dict(fixed or {})
    for k in fx:
        if not isinstance(k, str):
            raise TypeError(f"fixed names must be strings, got {k!r}")
    both = sorted(set(prm) & set(fx))
    if both:
        raise ValueError(f"{both} given in both params and fixed")
    takes_seed = _check_signature(fn, full, prm, fx)
    if "seed" in prm:
        seed_mode = "param"
    elif "seed" in fx:
        seed_mode = "fixed"
    else:
        seed_mode = "derived" if takes_seed else "none"
    outs = _check_outputs(outputs)
    prog = check_progress(progress)
    store = _store.check_store(store)
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) \
                or chunk_size < 1:
            raise ValueError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
        chunk_size = int(chunk_size)
    if n_workers is not None and (isinstance(n_workers, bool) or
                                  not isinstance(n_workers, (int, np.integer)) or n_workers < 1):
        raise ValueError(f"n_workers must be an int >= 1, got {n_workers!r}")
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        raise TypeError(f"timeout must be a number of seconds, got {timeout!r}") from None
    if not timeout > 0 or not math.isfinite(timeout):
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    sched = _resolve_scheduler(scheduler)
    p = None if path is None else Path(path).expanduser()
    if seed is None and p is not None and (p / _store.MANIFEST).exists():
        seed = _store.read_manifest(p).get("seed")  # resume a sweep that drew its seed
    seed = as_seed(seed, "seed")

    n = math.prod(len(v) for v in prm.values())
    desc = {"function": full, "params": prm, "fixed": _store.canon(fx), "seed": seed,
            "seed_mode": seed_mode, "outputs": _store.canon(outs), "version": __version__,
            "seed_rule": SEED_RULE if seed_mode == "derived" else f"seed {seed_mode}",
            "units": {str(k): str(v) for k, v in (units or {}).items()},
            "param_order": list(prm)}
    desc["fingerprint"] = _store.fingerprint(desc)
    if p is not None:
        man, _ = _prepare_path(p, desc, chunk_size, n, store)
    else:
        cs = chunk_size or max(1, math.ceil(n / MAX_DEFAULT_CHUNKS))
        man = {**desc, "format": _store.FORMAT, "chunk_size": cs, "n_points": n,
               "n_chunks": math.ceil(n / cs)}
    cs, n_chunks = man["chunk_size"], man["n_chunks"]
    done = set(_store.done_chunks(p, n_chunks, store)) if p is not None else set()

    names = list(prm)
    grid = list(product(*prm.values()))

    def chunk_points(i: int) -> list:
        pts = []
        for j in range(i * cs, min((i + 1) * cs, n)):
            kw = dict(zip(names, grid[j], strict=True))
            pts.append((j, kw, point_seed(seed, kw) if seed_mode == "derived" else None))
        return pts

    job = _Job(func if isinstance(func, str) else fn, fx, outs, _leaf_name(fn), tuple(names))
    mem: dict[int, Any] = {}
    lost: dict[int, str] = {}

    def keep(i: int, rows: list, pts: list) -> None:
        ds = chunk_dataset(rows, pts[0][0], pts[-1][0] + 1,
                           [s for _, _, s in pts] if seed_mode == "derived" else None)
        if p is not None:
            _store.write_chunk(p, i, ds, store)
        mem[i] = ds  # what the file holds (test: sweep() == open_sweep(path))

    todo = [i for i in range(n_chunks) if i not in done]

    def open_bar() -> Any:  # after the cluster is reached: no bar before a connection error
        bar = progress_bar(n, f"sweep {_leaf_name(fn)}", prog, unit="pt")
        bar.update(sum(min((i + 1) * cs, n) - i * cs for i in done))
        return bar

    if sched == "serial" or not todo:
        with open_bar() as bar:
            for i in todo:
                pts = chunk_points(i)
                keep(i, _run_chunk(job, pts, on_point=lambda: bar.update(1)), pts)
    else:
        lost = _run_distributed(sched, timeout, n_workers, job, todo, chunk_points, keep,
                                open_bar, desc["fingerprint"])
    chunks = {**{i: _store.read_chunk(p, i, store) for i in sorted(done)}, **mem}
    ds = _store.assemble(man, chunks, lost)
    n_failed = ds.attrs["n_failed"]
    if n_failed:
        first = next(e for e in ds["error"].values.ravel() if e)
        more = (f"; {len(lost)} chunk(s) lost on the cluster were not saved: rerun to retry"
                if lost else "")
        warnings.warn(f"sweep {full}: {n_failed} of {n} points failed (first: {first}); "
                      f"see the 'error' variable{more}", RuntimeWarning, stacklevel=2)
    return ds


def _run_distributed(sched: Any, timeout: float, n_workers: int | None, job: _Job,
                     todo: list, chunk_points: Callable, keep: Callable, open_bar: Callable,
                     fp: str) -> dict[int, str]:
    """Submit the chunks as tasks and keep each result as it arrives; return the chunks that
    failed as tasks (their message), which are not saved."""
    from distributed import as_completed

    lost: dict[int, str] = {}
    futs: dict = {}
    with dask_client(sched, timeout, n_workers) as client:
        try:
            token = uuid.uuid4().hex[:8]
            for i in todo:
                pts = chunk_points(i)
                f = client.submit(_run_chunk, job, pts, key=f"deeptheory-sweep-{fp[:8]}-"
                                  f"{token}-{i:05d}", pure=False)
                futs[f] = (i, pts)
            with open_bar() as bar:
                for f in as_completed(list(futs), loop=client.loop):
                    i, pts = futs[f]
                    try:
                        rows = f.result()
                    except Exception as e:  # noqa: BLE001 - KilledWorker and the like
                        lost[i] = f"chunk lost on the cluster: {_describe(e)}"
                        continue
                    finally:
                        f.release()
                    keep(i, rows, pts)
                    bar.update(len(pts))
        finally:
            for f in futs:
                if not f.done():
                    f.cancel()
    return lost
