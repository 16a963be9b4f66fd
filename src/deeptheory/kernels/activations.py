"""The activation registry: name -> phi, phi', phi'' as compiled scalar functions.

Built-ins (``list_activations()``): linear, tanh, erf, relu, hard_tanh, sigmoid,
silu (= swish), gelu, elu (alpha = 1), softplus, sin.  Their derivatives are
derived once with sympy (``tools/gen_activations.py`` writes
``_builtin_eval.py``); :func:`register_activation` does the same at run time
for a user expression such as ``"tanh(x) + 0.1*x"``.

Non-smooth activations declare which derivatives exist as functions:
``max_deriv`` is 1 for relu and hard_tanh (phi'' contains a Dirac delta), so a
quantity that needs phi'' (chi_2, xi_q, curvature) raises ``ValueError``.
"""

from __future__ import annotations

import itertools
import math
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from numba import njit

from . import _builtin_eval
from ._codegen import X, _breakpoints, derive, eval_source, parse_expr, to_source
from .activation_defs import BUILTIN_DEFS

#: panel edges in units of x shared by all activations (kinks of relu, hard_tanh, elu)
AEDGES = np.array([-8.0, -4.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0, 8.0])

__all__ = [
    "Activation",
    "get_activation",
    "list_activations",
    "register_activation",
]

_DERIV_NAMES = ("phi", "phi'", "phi''")


def _eval_array_py(act_eval, code, d, x, out):  # pragma: no cover - compiled
    for i in range(x.size):
        out[i] = act_eval(code, d, x[i])


# Built-in activations share one act_eval dispatcher: that compilation is cached on disk.
# User activations each bring their own dispatcher as an argument type; caching those would
# store overloads keyed on short-lived dispatchers, and pickling the cache index fails once
# one of them has been garbage collected ("underlying object has vanished").
_eval_array = njit(cache=True)(_eval_array_py)
_eval_array_user = njit(cache=False)(_eval_array_py)


@dataclass(eq=False)
class Activation:
    """A registered activation function phi and its derivatives.

    Attributes
    ----------
    name : registry name.
    expr : the sympy expression of phi(x).
    code : integer code passed to compiled kernels.
    max_deriv : highest derivative that exists as a function (0, 1 or 2).
    max_panel : widest quadrature panel in x that resolves phi (inf unless oscillating).
    edges : fixed quadrature panel edges in x: a unit-scale grid plus phi's kinks.
    kinks : points where phi or a derivative has a kink or jump (Piecewise breakpoints).
    odd : True if phi(-x) = -phi(x) identically.
    """

    name: str
    expr: sp.Expr
    code: int
    max_deriv: int
    max_panel: float
    odd: bool
    edges: np.ndarray = field(repr=False)
    kinks: np.ndarray = field(repr=False)
    eval_py: Callable[[int, int, float], float] = field(repr=False)
    eval_jit: Any = field(repr=False)
    builtin: bool = True
    _families: dict[str, types.SimpleNamespace] = field(default_factory=dict, repr=False)

    def __call__(self, x: Any, deriv: int = 0) -> np.ndarray:
        """Evaluate phi^(deriv) elementwise (``deriv`` in 0, 1, 2)."""
        self.require(deriv, f"derivative {deriv}")
        xa = np.asarray(x, dtype=float)
        flat = np.ascontiguousarray(xa).ravel()
        out = np.empty_like(flat)
        fn = _eval_array if self.builtin else _eval_array_user
        fn(self.eval_jit, self.code, int(deriv), flat, out)
        res = out.reshape(xa.shape)
        return res if res.ndim else float(res)

    def derivative_expr(self, deriv: int) -> sp.Expr:
        """sympy expression of phi^(deriv)."""
        return sp.diff(self.expr, X, deriv)

    def require(self, deriv: int, quantity: str) -> None:
        """Raise ``ValueError`` unless phi^(deriv) exists as a function."""
        if deriv not in (0, 1, 2):
            raise ValueError(f"deriv must be 0, 1 or 2, got {deriv!r}")
        if deriv > self.max_deriv:
            raise ValueError(
                f"{quantity} needs {_DERIV_NAMES[deriv]}, which for activation "
                f"{self.name!r} contains a Dirac delta (only derivatives up to order "
                f"{self.max_deriv} exist as functions); the quantity is infinite or undefined"
            )

    def family(self, target: str = "cpu") -> types.SimpleNamespace:
        """Compiled kernels for this activation on ``target`` ("cpu" or "cuda")."""
        from ._specialise import specialise

        with _LOCK:
            fam = self._families.get(target)
            if fam is None:
                if target == "cpu" and self.builtin:
                    fam = _builtin_cpu_family()
                elif self.builtin and target in _BUILTIN_FAMILIES:
                    fam = _BUILTIN_FAMILIES[target]
                else:
                    fam = specialise(self.eval_py, target)
                    if self.builtin:
                        _BUILTIN_FAMILIES[target] = fam
                self._families[target] = fam
        return fam


_LOCK = threading.RLock()
_REGISTRY: dict[str, Activation] = {}
_ALIASES: dict[str, str] = {}
_BUILTIN_FAMILIES: dict[str, types.SimpleNamespace] = {}
_USER_CODES = itertools.count(1000)


def _builtin_cpu_family() -> types.SimpleNamespace:
    """The import-time (disk-cached) CPU kernels, bound to the built-in act_eval."""
    from ._specialise import builtin_cpu_kernels

    return types.SimpleNamespace(**builtin_cpu_kernels())


def _is_odd(expr: sp.Expr) -> bool:
    try:
        return bool(sp.simplify(expr.subs(X, -X) + expr) == 0)
    except Exception:  # pragma: no cover - sympy corner cases
        return False


def _make(name: str, expr: sp.Expr, code: int, max_panel: float, eval_py, eval_jit, builtin):
    der = derive(expr)
    kinks = [float(p) for p in _breakpoints(expr)]
    kinks_a = np.array(sorted(kinks), dtype=float)
    edges = np.unique(np.concatenate([AEDGES, kinks_a]))
    edges.flags.writeable = False
    kinks_a.flags.writeable = False
    return Activation(
        name=name,
        expr=expr,
        code=code,
        max_deriv=der.max_deriv,
        max_panel=float(max_panel),
        odd=_is_odd(expr),
        edges=edges,
        kinks=kinks_a,
        eval_py=eval_py,
        eval_jit=eval_jit,
        builtin=builtin,
    )


for _d in BUILTIN_DEFS:
    _REGISTRY[_d.name] = _make(
        _d.name,
        parse_expr(_d.expr),
        _d.code,
        _d.max_panel,
        _builtin_eval.act_eval_py,
        _builtin_eval.act_eval,
        True,
    )
    for _a in _d.aliases:
        _ALIASES[_a] = _d.name


def list_activations() -> list[str]:
    """Names of all registered activations (built-in first)."""
    return list(_REGISTRY)


def get_activation(activation: str | Activation) -> Activation:
    """Look up an activation by name (or pass an :class:`Activation` through).

    Raises ``ValueError`` naming the allowed names for an unknown name.
    """
    if isinstance(activation, Activation):
        return activation
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a name or an Activation, got {type(activation)!r}")
    key = activation.strip().lower()
    key = _ALIASES.get(key, key)
    try:
        return _REGISTRY[key]
    except KeyError:
        raise ValueError(
            f"unknown activation {activation!r}; known: {', '.join(list_activations())} "
            "(or register one with register_activation)"
        ) from None


def register_activation(
    name: str,
    expr: str | sp.Expr,
    *,
    max_panel: float = math.inf,
    overwrite: bool = False,
) -> Activation:
    """Register a user activation from a sympy expression in ``x``.

    Derivatives phi', phi'' are derived with sympy and compiled with Numba;
    derivatives that contain a Dirac delta (a kink in phi or phi') are marked
    unavailable.  ``max_panel`` bounds the quadrature panel width (set it to
    about 2 for functions that oscillate on the unit scale).

    Examples
    --------
    >>> act = register_activation("leaky", "Max(x, 0.1*x)")   # doctest: +SKIP
    >>> act.max_deriv
    1
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name must be a non-empty string")
    key = name.strip().lower()
    if key in _ALIASES or (key in _REGISTRY and _REGISTRY[key].builtin):
        raise ValueError(f"{name!r} is a built-in activation; choose another name")
    if key in _REGISTRY and not overwrite:
        raise ValueError(f"activation {name!r} already registered (pass overwrite=True)")
    if not (max_panel > 0):
        raise ValueError(f"max_panel must be > 0, got {max_panel!r}")
    e = parse_expr(expr)
    der = derive(e)
    code = next(_USER_CODES)
    srcs = [None if d is None else to_source(d) for d in der.derivs]
    src = eval_source("act_eval_py", [(code, srcs)])
    ns: dict[str, Any] = {"math": math}
    exec(compile(src, f"<activation {key}>", "exec"), ns)  # noqa: S102 - generated from sympy
    eval_py = ns["act_eval_py"]
    # smoke test in Python: phi must be finite on the real line (checked on a sample)
    for xv in (-30.0, -5.0, -1.0, -0.3, 0.0, 0.3, 0.5, 1.0, 5.0, 30.0):
        try:
            v = eval_py(code, 0, xv)
        except (ZeroDivisionError, ValueError, OverflowError) as exc:
            raise ValueError(f"activation {name!r} is not defined at x = {xv}: {exc}") from None
        if not math.isfinite(v):
            raise ValueError(f"activation {name!r} is not finite at x = {xv} (got {v})")
    act = _make(key, e, code, max_panel, eval_py, njit(eval_py), False)
    with _LOCK:
        _REGISTRY[key] = act
    return act
