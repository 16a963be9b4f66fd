"""Compile one kernel source for several activations and targets.

Kernel functions are written once, as plain Python that calls the global
``act_eval(code, d, x)``.  The ``@kernel`` decorator compiles them at import with
``numba.njit(cache=True)`` bound to the built-in activations (so they are cached
on disk).  :func:`specialise` re-binds the *same code objects* to another
``act_eval`` (a user activation) and/or another target (CUDA device functions),
so there is no second copy of any kernel.

Every specialised clone gets a *fresh qualified name* (``fval__spec3``, ...).
Numba mangles a compiled symbol from the module, the qualified name, the
argument types and a per-process counter (``FunctionIdentity._unique_ids``).
A clone that kept the original name could get the same counter value in this
process as the built-in kernel got in the process that wrote the disk cache;
the two symbols are then byte-identical, and when the cached built-in kernels
are loaded afterwards LLVM links them to the user activation's body (every
built-in then returned nan: numba/numba#10486).  Names that no cached kernel
carries cannot collide.
"""

from __future__ import annotations

import importlib
import itertools
import os
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from numba import njit


@dataclass
class _Spec:
    name: str
    py_func: Callable
    role: str  # "device" (CPU njit / CUDA device), "cpu" (entry point), "cuda" (kernel)
    options: dict[str, Any]


_SPECS: dict[str, _Spec] = {}
#: per-thread node buffer length of CUDA kernels (local memory)
MAXN_CUDA = 1024
#: suffix counter that keeps the symbol names of specialised clones unique (see module doc)
_CLONE_IDS = itertools.count(1)


def unique_clone(func: Callable, globals_: dict[str, Any] | None = None) -> Callable:
    """A copy of ``func`` (same code object) with a qualified name no other compilation has.

    Compile clones, never the original function, whenever the compilation is bound to
    something other than what the disk cache holds for that name (see the module doc).
    """
    g = func.__globals__ if globals_ is None else globals_
    clone = types.FunctionType(func.__code__, g, func.__name__, func.__defaults__,
                               func.__closure__)
    clone.__qualname__ = f"{func.__qualname__}__spec{next(_CLONE_IDS)}"
    clone.__doc__ = func.__doc__
    return clone


def kernel(role: str = "device", **options: Any) -> Callable:
    """Register ``func`` for specialisation; return its CPU compilation for built-ins.

    ``role="cuda"`` registers a CUDA kernel (returned uncompiled: it is built by
    :func:`specialise` for the cuda target only).
    """

    def deco(func: Callable) -> Any:
        _SPECS[func.__name__] = _Spec(func.__name__, func, role, options)
        if role == "cuda":
            return func
        return njit(cache=True, **options)(func)

    return deco


#: modules whose kernels are registered with @kernel (imported before specialising)
KERNEL_MODULES = (
    "deeptheory.kernels.gauss",
    "deeptheory.kernels.montecarlo",
    "deeptheory.kernels.lyapunov",
    "deeptheory.kernels.odeint",
)


def load_kernel_modules() -> list[types.ModuleType]:
    return [importlib.import_module(m) for m in KERNEL_MODULES]


def builtin_cpu_kernels() -> dict[str, Any]:
    """The import-time, disk-cached CPU compilations bound to the built-in act_eval."""
    out = {}
    for mod in load_kernel_modules():
        for name, spec in _SPECS.items():
            if spec.role != "cuda" and spec.py_func.__module__ == mod.__name__:
                out[name] = getattr(mod, name)
    return out


def cuda_simulator() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"


def _entry_point(impl: Any) -> Callable:
    """``act_eval(code, d, x)`` calling ``impl`` with int(code), int(d): literals dropped.

    Numba compiles a callee once per distinct argument types, and a constant argument
    (``fval(code, 0, x)``) has a literal type, so without this entry point the whole
    act_eval body would be compiled again for every constant d (as in ``_builtin_eval``).
    """

    def act_eval(code, d, x):  # pragma: no cover - compiled
        return impl(int(code), int(d), x)

    return act_eval


def _code_names(code: types.CodeType) -> set[str]:
    """Global names ``code`` and the code objects nested in it refer to."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _uses_act_eval(func: Callable, seen: dict[str, bool] | None = None) -> bool:
    """True if ``func`` calls ``act_eval``, directly or through other compiled functions.

    A kernel that does not (``build_rule``, ``add_panel``: the quadrature rule depends on
    the activation only through the arrays passed in) compiles to the same code for every
    activation, so :func:`specialise` reuses its disk-cached built-in compilation instead
    of compiling a clone per user activation.  Names that cannot be resolved count as
    dependent.
    """
    seen = {} if seen is None else seen
    key = f"{func.__module__}.{func.__qualname__}"
    if key in seen:
        return seen[key]
    seen[key] = True  # recursion guard: a cycle counts as dependent (safe side)
    dep = False
    for name in _code_names(func.__code__):
        if name == "act_eval":
            dep = True
        elif name in _SPECS:
            dep = _uses_act_eval(_SPECS[name].py_func, seen)
        else:
            val = func.__globals__.get(name)
            inner = getattr(val, "py_func", None)  # another Numba dispatcher
            if inner is not None:
                dep = _uses_act_eval(inner, seen)
        if dep:
            break
    seen[key] = dep
    return dep


def specialise(act_eval_py: Callable, target: str) -> types.SimpleNamespace:
    """Compile every registered kernel with ``act_eval`` = ``act_eval_py`` for ``target``.

    ``target`` is ``"cpu"`` (entry points with their ``parallel`` option) or
    ``"cuda"`` (helpers as device functions, ``role="cuda"`` kernels as kernels).
    On the CPU, kernels that do not depend on the activation (:func:`_uses_act_eval`)
    are the built-in, disk-cached compilations themselves: nothing is compiled twice.
    """
    mods = {m.__name__: m for m in load_kernel_modules()}
    g: dict[str, Any] = {}
    for spec in _SPECS.values():
        g.update(spec.py_func.__globals__)
    out: dict[str, Any] = {}
    act_eval_py = unique_clone(act_eval_py)
    if target == "cpu":
        g["act_eval"] = njit(unique_clone(_entry_point(njit(act_eval_py))))
    elif target == "cuda":
        from numba import (
            cuda,  # deferred: numba-cuda is an optional extra
            float64,
        )

        g["act_eval"] = cuda.jit(device=True)(act_eval_py)
        g["cuda"] = cuda
        g["float64"] = float64
        g["MAXN_CUDA"] = MAXN_CUDA
    else:
        raise ValueError(f"target must be 'cpu' or 'cuda', got {target!r}")
    seen: dict[str, bool] = {}
    for spec in _SPECS.values():
        if target == "cpu":
            if spec.role == "cuda":
                continue
            builtin = getattr(mods.get(spec.py_func.__module__), spec.name, None)
            if getattr(builtin, "py_func", None) is spec.py_func and not _uses_act_eval(
                    spec.py_func, seen):
                g[spec.name] = out[spec.name] = builtin
                continue
            compiled = njit(**spec.options)(unique_clone(spec.py_func, g))
        else:
            from numba import cuda

            if spec.role == "cpu":
                continue
            compiled = cuda.jit(device=(spec.role == "device"))(unique_clone(spec.py_func, g))
        g[spec.name] = compiled
        out[spec.name] = compiled
    return types.SimpleNamespace(**out)
