"""The on-disk sweep: a directory of netCDF (or Zarr) chunks and a JSON manifest; reassembly.

Layout of ``path/``::

    sweep.json          manifest: format, fingerprint (function, params, fixed, seed,
                        outputs, deeptheory version), chunking, store, units
    chunk_00000.nc      points 0 .. chunk_size - 1 over a flat ``point`` dimension
    chunk_00001.nc      ...            (``chunk_00000.zarr/`` ... with store="zarr")

netCDF chunks are netCDF-3 files written by xarray's ``scipy`` engine (scipy is already a
dependency: no HDF5 / netCDF C library needed); Zarr chunks are Zarr stores (the optional
``zarr`` package, ``pip install 'deeptheory[zarr]'``).  Each chunk is written to a
temporary name first and then renamed, so a chunk that exists is complete.  In netCDF,
complex variables are stored as ``<var>__real`` / ``<var>__imag`` and recombined on
reading.  :func:`save_sweep` writes a whole sweep Dataset as one netCDF file or one Zarr
store, and :func:`open_sweep` opens any of the three.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FORMAT", "MANIFEST", "STORES", "assemble", "canon", "check_store", "chunk_name",
           "fingerprint", "open_sweep", "param_order", "read_chunk", "read_manifest", "save_sweep",
           "write_chunk", "write_manifest"]

FORMAT = "deeptheory.sweep/1"
MANIFEST = "sweep.json"
ENGINE = "scipy"
#: chunk stores of a sweep directory and their file suffixes
STORES = {"netcdf": ".nc", "zarr": ".zarr"}
_ADDR = re.compile(r" at 0x[0-9a-fA-F]+")

#: what the fingerprint covers (a resumed sweep must match all of them)
FINGERPRINT_KEYS = ("function", "params", "fixed", "seed", "seed_mode", "outputs", "version")


def canon(obj: Any) -> Any:
    """A JSON-able, stable description of ``obj`` (for the fingerprint and the manifest)."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else repr(obj)
    if isinstance(obj, np.generic):
        return canon(obj.item())
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        if a.dtype.kind == "O":
            return {"ndarray": "object", "items": [canon(x) for x in a.ravel().tolist()],
                    "shape": list(a.shape)}
        return {"ndarray": a.dtype.str, "shape": list(a.shape),
                "sha256": hashlib.sha256(a.tobytes()).hexdigest()}
    if isinstance(obj, (list, tuple)):
        return [canon(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): canon(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if is_dataclass(obj) and not isinstance(obj, type):
        return {"dataclass": f"{type(obj).__module__}.{type(obj).__qualname__}",
                "fields": {f.name: canon(getattr(obj, f.name)) for f in fields(obj)}}
    if callable(obj):
        mod = getattr(obj, "__module__", None)
        qn = getattr(obj, "__qualname__", None)
        if mod and qn:
            return f"{mod}.{qn}"
    return _ADDR.sub("", f"{type(obj).__qualname__}:{obj!r}")


def param_order(man: dict) -> list[str]:
    """The swept parameters in the order of the grid's dimensions (the JSON manifest sorts
    its keys, so the order is stored separately)."""
    return list(man.get("param_order") or man["params"])


def fingerprint(desc: dict) -> str:
    """sha256 of the canonical JSON of the fingerprinted parts of a manifest."""
    body = json.dumps({k: desc[k] for k in FINGERPRINT_KEYS}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def check_store(store: Any) -> str:
    """Validate a chunk store name: "netcdf" or "zarr" (Zarr needs the zarr package)."""
    if not isinstance(store, str) or store not in STORES:
        raise ValueError(f"store must be one of {sorted(STORES)}, got {store!r}")
    if store == "zarr":
        _need_zarr()
    return store


def _need_zarr() -> None:
    try:
        import zarr  # noqa: F401
    except ImportError:
        raise ImportError("Zarr output needs the zarr package: pip install 'deeptheory[zarr]' "
                          "(or pip install zarr); netCDF needs nothing extra") from None


def chunk_name(i: int, store: str = "netcdf") -> str:
    return f"chunk_{i:05d}{STORES[store]}"


def _atomic_write_bytes(target: Path, write, *, replace: bool = False) -> None:
    """Write ``target`` (a file or a directory) under a temporary name, then rename it.

    A directory target that exists meanwhile is kept (another writer finished the same
    chunk) unless ``replace``; a file target is always replaced."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        if tmp.is_dir() or target.is_dir():
            if target.exists():
                if not replace:
                    return
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            os.rename(tmp, target)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def _split_complex(ds: Any) -> Any:
    """Complex variables as ``<var>__real`` / ``<var>__imag`` (netCDF-3 has no complex)."""
    out = ds.copy()
    for k in list(out.data_vars):
        if out[k].dtype.kind == "c":
            v = out[k]
            out[f"{k}__real"] = v.real
            out[f"{k}__imag"] = v.imag
            out = out.drop_vars(k)
    return out


def _join_complex(ds: Any) -> Any:
    """Undo :func:`_split_complex`; strings (numpy StringDType from Zarr) back to object."""
    for k in list(ds.data_vars):
        if k.endswith("__real") and f"{k[:-6]}__imag" in ds:
            base = k[:-6]
            ds[base] = ds[k] + 1j * ds[f"{base}__imag"]
            ds = ds.drop_vars([k, f"{base}__imag"])
    for k in list(ds.variables):
        if ds[k].dtype.kind in "TU":
            if k in ds.coords:
                v = ds[k]
                ds = ds.assign_coords({k: (v.dims, v.values.astype(object), v.attrs)})
            else:
                ds[k] = ds[k].astype(object)
    return ds


def _write(ds: Any, target: Path, store: str) -> None:
    if store == "zarr":
        _need_zarr()
        ds.to_zarr(target, mode="w-", consolidated=False)
    else:
        _split_complex(ds).to_netcdf(target, engine=ENGINE, format="NETCDF3_64BIT")


def _read(target: Path, store: str) -> Any:
    import xarray as xr

    if store == "zarr":
        _need_zarr()
        with xr.open_zarr(target, consolidated=False) as src:
            ds = src.load()
    else:
        with xr.open_dataset(target, engine=ENGINE) as src:
            ds = src.load()
    return _join_complex(ds)


def write_manifest(path: Path, manifest: dict) -> None:
    def w(p: Path) -> None:
        p.write_text(json.dumps(manifest, indent=1, sort_keys=True))

    _atomic_write_bytes(path / MANIFEST, w)


def read_manifest(path: Path) -> dict:
    f = Path(path) / MANIFEST
    try:
        man = json.loads(f.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is not a deeptheory sweep (no {MANIFEST})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{f} is not valid JSON: {e}") from None
    if man.get("format") != FORMAT:
        raise ValueError(f"{f}: unknown format {man.get('format')!r} (expected {FORMAT!r})")
    return man


def write_chunk(path: Path, i: int, ds: Any, store: str = "netcdf") -> None:
    """Write chunk ``i`` atomically (netCDF: complex split into real / imag)."""
    out = ds.copy()
    out.attrs["written"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    _atomic_write_bytes(Path(path) / chunk_name(i, store), lambda p: _write(out, p, store))


def read_chunk(path: Path, i: int, store: str = "netcdf") -> Any:
    """Read chunk ``i`` into memory (complex recombined, point indices int64)."""
    ds = _read(Path(path) / chunk_name(i, store), store)
    ds = ds.assign_coords(point=ds["point"].values.astype(np.int64))
    return _finish(ds)


def done_chunks(path: Path, n_chunks: int, store: str = "netcdf") -> list[int]:
    return [i for i in range(n_chunks) if (Path(path) / chunk_name(i, store)).exists()]


def coord_values(values: list) -> np.ndarray:
    if all(isinstance(v, str) for v in values):
        return np.array(values, dtype=object)
    return np.asarray(values)


def assemble(man: dict, chunks: dict[int, Any], missing: dict[int, str]) -> Any:
    """The full Dataset on the parameter grid from chunk Datasets.

    ``chunks``: chunk index -> chunk Dataset (flat ``point``); ``missing``: chunk index ->
    error text for the points of a chunk that has no Dataset.
    """
    import xarray as xr

    names = param_order(man)
    values = [man["params"][k] for k in names]
    shape = tuple(len(v) for v in values)
    n = int(np.prod(shape))
    # the union of the variables with their trailing shapes and kinds
    spec: dict[str, tuple[tuple[str, ...], tuple[int, ...], Any]] = {}
    for i in sorted(chunks):
        ds = chunks[i]
        for k in ds.data_vars:
            if k in ("error", "point_seed"):
                continue
            v = ds[k]
            tail = (v.dims[1:], v.shape[1:], v.dtype)
            if k not in spec:
                spec[k] = tail
            elif spec[k][1] != tail[1]:
                raise ValueError(f"output {k!r} has trailing shape {tail[1]} in chunk {i} but "
                                 f"{spec[k][1]} in an earlier chunk: outputs with extra "
                                 "dimensions must have the same shape at every point (choose "
                                 "them with outputs=)")
    data = {}
    for k, (dims, tshape, dtype) in spec.items():
        kind = "O" if dtype.kind in "OUS" else ("c" if dtype.kind == "c" else "f")
        fill = {"f": np.nan, "c": complex(np.nan, np.nan), "O": ""}[kind]
        arr = np.full((n, *tshape), fill, dtype={"f": np.float64, "c": np.complex128,
                                                  "O": object}[kind])
        for ds in chunks.values():
            if k in ds:
                arr[ds["point"].values] = ds[k].values
        data[k] = (tuple(names) + tuple(dims), arr.reshape(shape + tshape))
    err = np.full(n, "", dtype=object)
    seeds = np.full(n, -1, dtype=np.int64)
    has_seeds = man.get("seed_mode") == "derived"
    cs = man["chunk_size"]
    for ds in chunks.values():
        err[ds["point"].values] = ds["error"].values
        if has_seeds and "point_seed" in ds:
            seeds[ds["point"].values] = ds["point_seed"].values
    for i, msg in missing.items():
        err[i * cs:min((i + 1) * cs, n)] = msg
    data["error"] = (tuple(names), err.reshape(shape))
    if has_seeds:
        data["point_seed"] = (tuple(names), seeds.reshape(shape))
    coords = {k: coord_values(v) for k, v in zip(names, values, strict=True)}
    out = xr.Dataset(data, coords=coords)
    _decorate(out, man, n_failed=int(np.sum(err != "")),
              skipped=sorted({s for ds in chunks.values()
                              for s in ds.attrs.get("skipped", "").split(", ") if s}))
    return out


#: descriptions of the toolkit's common parameters (attributes of the coordinates)
PARAM_ATTRS: dict[str, dict[str, str]] = {
    "sigma_w2": {"long_name": "weight variance sigma_w^2 (W_ij ~ N(0, sigma_w2 / N))",
                 "units": "1"},
    "sigma_b2": {"long_name": "bias variance sigma_b^2 (b_i ~ N(0, sigma_b2))", "units": "1"},
    "activation": {"long_name": "activation function phi"},
    "width": {"long_name": "layer width N", "units": "neurons"},
    "depth": {"long_name": "network depth L", "units": "layers"},
    "n_trials": {"long_name": "independent networks / samples", "units": "1"},
    "q0": {"long_name": "input length q^0 (mean squared input)", "units": "1"},
    "c0": {"long_name": "input correlation c^0", "units": "1"},
    "weights": {"long_name": "weight distribution (gaussian or orthogonal)"},
    "gain": {"long_name": "gain g (W_ij ~ N(0, g^2 / N))", "units": "1"},
    "beta": {"long_name": "inverse temperature beta", "units": "1 / energy"},
    "N": {"long_name": "system size N", "units": "spins"},
    "p": {"long_name": "p of the p-spin model", "units": "1"},
    "n_sweeps": {"long_name": "Monte Carlo sweeps", "units": "sweeps"},
    "n_steps": {"long_name": "steps", "units": "steps"},
    "epochs": {"long_name": "training epochs", "units": "epochs"},
    "lr": {"long_name": "learning rate", "units": "1"},
    "seed": {"long_name": "seed of the point (a swept parameter)"},
}

VAR_ATTRS = {
    "value": {"long_name": "estimate (Estimate.value)"},
    "stderr": {"long_name": "standard error of the estimate (Estimate.stderr)"},
    "n": {"long_name": "sample size of the estimate (Estimate.n)", "units": "1"},
    "error": {"long_name": "error of the point: 'ExceptionType: message', '' if it ran"},
    "point_seed": {"long_name": "seed passed to the function at this point (point_seed())"},
}

CONVENTIONS = ("deeptheory conventions: variances, not standard deviations (W_ij ~ "
               "N(0, sigma_w2 / N), b_i ~ N(0, sigma_b2)); q is the mean squared "
               "pre-activation, c the correlation; Lyapunov exponents in nats per step (maps) "
               "or per unit time (flows); entropies and mutual information in nats unless a "
               "function says bits.  Numbers are stored as float64: NaN (with the message in "
               "'error') marks a failed point.  Estimates map to value / stderr / n (fields: "
               "f / f_stderr / f_n), Result fields to variables, extra array axes to "
               "dimensions <var>_dim_<i>.")


def _decorate(ds: Any, man: dict, *, n_failed: int, skipped: list[str]) -> None:
    units = man.get("units", {})
    for k in param_order(man):
        ds[k].attrs.update(PARAM_ATTRS.get(k, {}))
        if k in units:
            ds[k].attrs["units"] = units[k]
    for k in ds.data_vars:
        base = VAR_ATTRS.get(k)
        if base is None and k.endswith("_stderr"):
            base = {"long_name": f"standard error of {k[:-7]}"}
        ds[k].attrs.update(base or {})
        if k in units:
            ds[k].attrs["units"] = units[k]
    ds.attrs.update({
        "title": f"deeptheory sweep of {man['function']}",
        "function": man["function"],
        "deeptheory_version": man["version"],
        "sweep_seed": -1 if man["seed"] is None else man["seed"],
        "seed_rule": man["seed_rule"],
        "params": json.dumps(param_order(man)),
        "fixed": json.dumps(man["fixed"]),
        "outputs": json.dumps(man["outputs"]),
        "n_points": int(man["n_points"]),
        "n_failed": n_failed,
        "skipped": ", ".join(skipped),
        "fingerprint": man["fingerprint"],
        "conventions": CONVENTIONS,
    })


def _is_zarr_store(p: Path) -> bool:
    """A directory holding Zarr (v3 or v2) group metadata."""
    return p.is_dir() and ((p / "zarr.json").exists() or (p / ".zgroup").exists())


def save_sweep(ds: Any, target: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a sweep Dataset as one netCDF file (``*.nc``) or one Zarr store (``*.zarr``).

    The format follows the suffix of ``target``.  netCDF is netCDF-3 written by xarray's
    scipy engine (nothing extra to install; complex variables stored as ``<var>__real`` /
    ``<var>__imag``); Zarr needs the zarr package (``pip install 'deeptheory[zarr]'``) and
    keeps complex numbers as they are.  Attributes (function, seeds, conventions, units)
    travel with the data; :func:`open_sweep` reads either back into an identical Dataset.
    An existing target is refused (FileExistsError) unless ``overwrite=True``, which replaces
    only a file or a Zarr store.  The write goes to a temporary name first, so an
    interrupted save leaves no partial target.  Returns the path written.
    """
    import xarray as xr

    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset (a sweep result), got {type(ds).__name__}")
    p = Path(target).expanduser()
    store = {".nc": "netcdf", ".zarr": "zarr"}.get(p.suffix)
    if store is None:
        raise ValueError(f"target must end in .nc (netCDF) or .zarr (Zarr), got {str(p)!r}")
    if store == "zarr":
        _need_zarr()
    if p.exists():
        if not overwrite:
            raise FileExistsError(f"{str(p)!r} exists; pass overwrite=True to replace it")
        if p.is_dir() and not _is_zarr_store(p):
            raise FileExistsError(f"{str(p)!r} is a directory but not a Zarr store; refusing "
                                  "to replace it")
    p.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_bytes(p, lambda t: _write(ds, t, store), replace=True)
    return p


def _finish(ds: Any) -> Any:
    """Dtypes as :func:`assemble` gives them (after a netCDF / Zarr round trip)."""
    if "point_seed" in ds:
        ds["point_seed"] = ds["point_seed"].astype(np.int64)
    if "error" in ds:
        ds["error"] = ds["error"].astype(object)
    return ds


def open_sweep(path: str | os.PathLike, *, allow_incomplete: bool = False) -> Any:
    """Open a sweep written by :func:`deeptheory.sweep.sweep` or :func:`save_sweep`.

    ``path``: a sweep directory (``sweep.json`` and chunks, netCDF or Zarr), a netCDF file
    or a Zarr store.  A directory's chunks are combined into an ``xarray.Dataset`` on the
    parameter grid (named dimensions, coordinates, attributes as
    :func:`~deeptheory.sweep.sweep` returns them), loaded into memory.  A sweep with chunks
    not yet computed raises ValueError unless ``allow_incomplete=True``, which returns their
    points as NaN with ``error`` "not computed" (the attribute ``n_failed`` counts them).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"no sweep at {str(p)!r}")
    if not (p / MANIFEST).exists():
        if p.suffix == ".zarr" or _is_zarr_store(p):
            return _finish(_read(p, "zarr"))
        if p.is_file():
            try:
                return _finish(_read(p, "netcdf"))
            except (OSError, TypeError, ValueError):  # not netCDF-3: let xarray choose
                import xarray as xr

                with xr.open_dataset(p) as src:
                    return _finish(_join_complex(src.load()))
    man = read_manifest(p)
    store = man.get("store", "netcdf")
    n_chunks = man["n_chunks"]
    have = done_chunks(p, n_chunks, store)
    missing = sorted(set(range(n_chunks)) - set(have))
    if missing and not allow_incomplete:
        raise ValueError(f"the sweep at {p} is incomplete: {len(missing)} of {n_chunks} chunks "
                         f"not computed (first: {chunk_name(missing[0], store)}); run the same "
                         "sweep() call again to resume, or pass allow_incomplete=True")
    chunks = {i: read_chunk(p, i, store) for i in have}
    return assemble(man, chunks, {i: "not computed" for i in missing})
