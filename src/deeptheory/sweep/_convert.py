"""One point's return value -> named arrays; one chunk's points -> a flat Dataset.

The mapping (also in :func:`deeptheory.sweep.sweep`'s docstring and ``docs/sweeps.md``):

* a number, numpy scalar or array -> one variable named after the function (``chi1``),
  or ``outputs`` when that is a string; extra array axes become dimensions
  ``<var>_dim_0``, ``<var>_dim_1``, ...;
* an :class:`~deeptheory.Estimate` -> ``value``, ``stderr``, ``n`` (its ``samples`` are
  dropped); an Estimate in a field ``f`` -> ``f``, ``f_stderr``, ``f_n`` (``f_stderr``
  shares ``f``'s dimensions);
* a :class:`~deeptheory._api.Result` dataclass (any dataclass) or a dict -> one variable
  per field / key, nested ones flattened with ``_`` (``outer_inner``, at most 3 levels);
* a tuple that is not a regular array -> ``<name>_0``, ``<name>_1``, ...;
* strings -> string variables; None -> nothing; anything else (ragged lists, models,
  callables) is skipped and named in the ``skipped`` attribute.

Numbers are stored as float64 (complex as complex128) so that a failed point can be NaN.
A variable whose name is a parameter's (or ``error``, ``point``, ``point_seed``) gets the
suffix ``_out``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np

from .._api import Estimate

__all__ = ["RESERVED", "flatten_result", "chunk_dataset"]

#: names the sweep uses itself (not allowed as parameter names)
RESERVED = ("point", "error", "point_seed")
MAX_DEPTH = 3


def _safe_name(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_]", "_", str(name))
    if not s or not (s[0].isalpha() or s[0] == "_"):
        s = "v_" + s
    return s


def _all_str(obj: Any) -> bool:
    if isinstance(obj, str):
        return True
    if isinstance(obj, (list, tuple)):
        return all(_all_str(x) for x in obj)
    return isinstance(obj, np.ndarray) and obj.dtype.kind in "US"


def _leaf(obj: Any) -> np.ndarray | None:
    """A float64 / complex128 / object-of-str array, or None (not storable)."""
    if isinstance(obj, str):
        return np.array(obj, dtype=object)
    if isinstance(obj, bytes):
        return np.array(obj.decode("utf-8", "replace"), dtype=object)
    try:
        a = np.asarray(obj)
    except (ValueError, TypeError):  # ragged
        return None
    k = a.dtype.kind
    if k in "biuf":
        return a.astype(np.float64)
    if k == "c":
        return a.astype(np.complex128)
    if k in "US":
        if isinstance(obj, (list, tuple)) and not _all_str(obj):
            return None  # numbers mixed with strings: not one array
        return a.astype(str).astype(object)
    if k == "O" and a.ndim and all(isinstance(x, str) for x in a.ravel()):
        return a
    if k == "O":
        try:
            return np.asarray(obj, dtype=np.float64)
        except (ValueError, TypeError):
            return None
    return None  # datetimes, voids, ...


def _walk(obj: Any, prefix: str, leaf_name: str, out: dict, owner: dict, skipped: list,
          depth: int) -> None:
    key = prefix or leaf_name
    if obj is None:
        return
    if isinstance(obj, Estimate):
        base = prefix or "value"
        out[base] = _leaf(obj.value)
        se = f"{prefix}_stderr" if prefix else "stderr"
        n = f"{prefix}_n" if prefix else "n"
        out[se] = _leaf(obj.stderr)
        out[n] = np.asarray(float(obj.n))
        owner[se] = base
        for k in (base, se):
            if out[k] is None:
                del out[k]
                skipped.append(k)
        return
    items = None
    if is_dataclass(obj) and not isinstance(obj, type):
        items = [(f.name, getattr(obj, f.name)) for f in fields(obj)]
    elif isinstance(obj, Mapping):
        items = list(obj.items())
    if items is not None:
        if depth >= MAX_DEPTH:
            skipped.append(key)
            return
        for k, v in items:
            sub = _safe_name(f"{prefix}_{k}" if prefix else k)
            _walk(v, sub, leaf_name, out, owner, skipped, depth + 1)
        return
    a = _leaf(obj)
    if a is None and isinstance(obj, tuple) and depth < MAX_DEPTH:
        for i, v in enumerate(obj):
            _walk(v, f"{key}_{i}", leaf_name, out, owner, skipped, depth + 1)
        return
    if a is None:
        skipped.append(key)
        return
    out[key] = a


def _select(res: Any, outputs: Any, name: str) -> tuple[Any, str]:
    """Apply ``outputs`` to a raw result: (object to flatten, leaf name)."""
    if outputs is None:
        return res, name
    if callable(outputs):
        return outputs(res), name
    if isinstance(outputs, str):
        outputs = (outputs,)
        single = True
    else:
        single = False
    picked = {}
    for o in outputs:
        if isinstance(res, Mapping) and o in res:
            picked[o] = res[o]
        elif hasattr(res, o) and not isinstance(res, (np.ndarray, np.generic, int, float)):
            picked[o] = getattr(res, o)
        elif single:  # a plain value: outputs names it
            return res, o
        else:
            raise AttributeError(f"the result ({type(res).__name__}) has no attribute or key "
                                 f"{o!r} (outputs={list(outputs)!r})")
    return picked, name


def flatten_result(res: Any, *, name: str, outputs: Any = None,
                   reserved: tuple[str, ...] = ()) -> tuple[dict, dict, list]:
    """Map one point's return value to ``({var: array}, {var: dims owner}, skipped)``.

    See the module docstring for the mapping; ``reserved`` names (the parameters) get the
    suffix ``_out``.
    """
    obj, leaf = _select(res, outputs, name)
    out: dict[str, np.ndarray] = {}
    owner: dict[str, str] = {}
    skipped: list[str] = []
    _walk(obj, "", _safe_name(leaf), out, owner, skipped, 0)
    bad = set(reserved) | set(RESERVED)
    if bad & set(out):
        ren = {k: (f"{k}_out" if k in bad else k) for k in out}
        out = {ren[k]: v for k, v in out.items()}
        owner = {ren[k]: ren.get(v, v) for k, v in owner.items()}
        skipped = [ren.get(k, k) for k in skipped]
    return out, owner, skipped


def _fill(kind: str) -> Any:
    return {"f": np.nan, "c": complex(np.nan, np.nan), "O": ""}[kind]


def chunk_dataset(rows: list, start: int, stop: int, point_seeds: list | None) -> Any:
    """The Dataset of one chunk over a flat ``point`` dimension (indices start..stop-1).

    ``rows``: one ``(index, error or None, vars, owners, skipped)`` per point.  Every
    variable seen at a successful point gets a slot at every point (NaN / "" where
    missing); a point whose output disagrees in shape or type with the first point that
    had it is marked failed.
    """
    import xarray as xr

    m = stop - start
    rows = sorted(rows, key=lambda r: r[0])
    if [r[0] for r in rows] != list(range(start, stop)):
        raise RuntimeError("a chunk came back with missing or extra points")  # pragma: no cover
    errors = ["" if r[1] is None else str(r[1]) for r in rows]
    template: dict[str, tuple[tuple[int, ...], str]] = {}
    owners: dict[str, str] = {}
    skipped: set[str] = set()
    for i, (_, err, vars_, own, skp) in enumerate(rows):
        if err is not None:
            continue
        skipped.update(skp)
        for k, a in vars_.items():
            kind = "O" if a.dtype.kind == "O" else a.dtype.kind
            if k not in template:
                template[k] = (a.shape, kind)
                if k in own:
                    owners[k] = own[k]
            elif template[k] != (a.shape, kind):
                errors[i] = (f"ValueError: output {k!r} has shape {a.shape} ({a.dtype}) here "
                             f"but {template[k][0]} at another point of the sweep")
    data = {}
    for k, (shape, kind) in template.items():
        dtype = {"f": np.float64, "c": np.complex128, "O": object}[kind]
        arr = np.full((m, *shape), _fill(kind), dtype=dtype)
        for i, (_, _, vars_, _, _) in enumerate(rows):
            if errors[i] == "" and vars_ is not None and k in vars_:
                arr[i, ...] = vars_[k]
        dims_of = owners.get(k, k) if template.get(owners.get(k, k), (None,))[0] == shape else k
        dims = ("point", *(f"{dims_of}_dim_{j}" for j in range(len(shape))))
        data[k] = (dims, arr)
    data["error"] = ("point", np.array(errors, dtype=object))
    if point_seeds is not None:
        data["point_seed"] = ("point", np.asarray(point_seeds, dtype=np.int64))
    ds = xr.Dataset(data, coords={"point": np.arange(start, stop, dtype=np.int64)})
    ds.attrs["skipped"] = ", ".join(sorted(skipped))
    return ds
