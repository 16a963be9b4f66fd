"""The activation registry: name -> phi, phi', phi'' as compiled scalar functions.

Built-ins (``list_activations()``): linear, tanh, erf, relu, hard_tanh, sigmoid,
silu (= swish), gelu, elu (alpha = 1), softplus, sin.  Their derivatives are
derived once with sympy (``tools/gen_activations.py`` writes
``_builtin_eval.py``); :func:`register_activation` does the same at run time
for a user expression such as ``"tanh(x) + 0.1*x"``.

Start-up: this module does not import sympy.  The built-ins are registered from
the generated code and metadata in ``_builtin_eval.py`` (max_deriv, kinks, odd,
derived by sympy when that file was written); sympy is imported on first use of
``Activation.expr`` / ``derivative_expr`` or by :func:`register_activation`.

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
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit

from . import _builtin_eval
from ._builtin_eval import act_eval as _builtin_act_eval
from ._specialise import unique_clone
from .activation_defs import BUILTIN_DEFS

if TYPE_CHECKING:  # sympy is imported lazily (start-up time): see the module doc
    import sympy as sp

#: panel edges in units of x shared by all activations (kinks of relu, hard_tanh, elu).
#: The edges out to +-64 resolve the exponential approach of sigmoid, softplus, silu,
#: tanh, ... to their asymptotes (x^2 e^{-|x|} is below 1e-24 beyond 64): without them
#: one 12-node panel spanned [8, 8.5 sqrt(q)] and the relative error grew to 1e-6 at
#: q = 1e4 (E[silu(x) silu(-x)] still lost 1e-11 with edges to +-32 only).
AEDGES = np.array([-64.0, -32.0, -16.0, -8.0, -4.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0,
                   8.0, 16.0, 32.0, 64.0])

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


def _eval_array_builtin_py(code, d, x, out):  # pragma: no cover - compiled
    for i in range(x.size):
        out[i] = _builtin_act_eval(code, d, x[i])


# Built-in activations call the one act_eval of _builtin_eval as a global: that compilation
# is cached on disk.  No cached function takes a dispatcher as an argument: its type would
# key the cache index, and once the dispatcher of an older process (or an older generated
# _builtin_eval.py) sits in the index, pickling the index fails ("underlying object has
# vanished").  User activations bring their own dispatcher as an argument to an uncached
# clone, renamed so that its symbols can never coincide with the cached built-in ones (see
# deeptheory.kernels._specialise).
_eval_array = njit(cache=True)(_eval_array_builtin_py)
_eval_array_user = njit(cache=False)(unique_clone(_eval_array_py))


class _LazyExpr:
    """Descriptor of ``Activation.expr``: a definition string is parsed by sympy on first read.

    Built-ins are registered with their definition string (``activation_defs.py``) so
    that importing the registry does not import sympy.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:  # class access: no default value for the dataclass field
            raise AttributeError(self._slot[1:])
        e = obj.__dict__[self._slot]
        if isinstance(e, str):
            from ._codegen import parse_expr

            with _LOCK:
                e = obj.__dict__[self._slot]
                if isinstance(e, str):
                    e = obj.__dict__[self._slot] = parse_expr(e)
        return e

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self._slot] = value


@dataclass(eq=False)
class Activation:
    """A registered activation function phi and its derivatives.

    Attributes
    ----------
    name : registry name.
    expr : the sympy expression of phi(x) (built-ins: parsed, importing sympy, on first use).
    code : integer code passed to compiled kernels.
    max_deriv : highest derivative that exists as a function (0, 1 or 2).
    max_panel : widest quadrature panel in x that resolves phi (inf unless oscillating).
    edges : fixed quadrature panel edges in x: a unit-scale grid plus phi's kinks.
    kinks : points where phi or a derivative has a kink or jump (Piecewise breakpoints).
    odd : True if phi(-x) = -phi(x) identically.
    """

    name: str
    expr: sp.Expr = _LazyExpr()
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
        if self.builtin:
            _eval_array(self.code, int(deriv), flat, out)
        else:
            _eval_array_user(self.eval_jit, self.code, int(deriv), flat, out)
        res = out.reshape(xa.shape)
        return res if res.ndim else float(res)

    def derivative_expr(self, deriv: int) -> sp.Expr:
        """sympy expression of phi^(deriv)."""
        import sympy as sp

        from ._codegen import X

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


def _make(name: str, expr: sp.Expr | str, code: int, max_panel: float, max_deriv: int,
          kinks: Any, odd: bool, eval_py, eval_jit, builtin) -> Activation:
    kinks_a = np.array(sorted(float(k) for k in kinks), dtype=float)
    edges = np.unique(np.concatenate([AEDGES, kinks_a]))
    edges.flags.writeable = False
    kinks_a.flags.writeable = False
    return Activation(
        name=name,
        expr=expr,
        code=code,
        max_deriv=int(max_deriv),
        max_panel=float(max_panel),
        odd=bool(odd),
        edges=edges,
        kinks=kinks_a,
        eval_py=eval_py,
        eval_jit=eval_jit,
        builtin=builtin,
    )


# Built-ins: no sympy at import.  max_deriv, kinks and odd were derived by sympy
# (deeptheory.kernels._codegen) when tools/gen_activations.py wrote _builtin_eval.py;
# a test regenerates that file and fails if it is stale.
def _builtin_meta(d: Any) -> tuple[int, tuple[float, ...], bool]:
    """(max_deriv, kinks, odd) of a built-in: generated, or derived by sympy if stale."""
    meta = getattr(_builtin_eval, "BUILTIN_META", {}).get(d.code)
    if meta is not None:
        return meta
    # _builtin_eval.py predates this definition (test_generated_source_up_to_date fails
    # until tools/gen_activations.py is rerun): derive it now, importing sympy
    from ._codegen import derive, is_odd, kinks, parse_expr

    e = parse_expr(d.expr)
    return derive(e).max_deriv, tuple(kinks(e)), is_odd(e)


for _d in BUILTIN_DEFS:
    _md, _kinks, _odd = _builtin_meta(_d)
    _REGISTRY[_d.name] = _make(
        _d.name,
        _d.expr,
        _d.code,
        _d.max_panel,
        _md,
        _kinks,
        _odd,
        _builtin_eval.act_eval_py,
        _builtin_eval.act_eval,
        True,
    )
    for _a in _d.aliases:
        _ALIASES[_a] = _d.name


def _show(expr: Any) -> str:
    return repr(expr) if isinstance(expr, str) else repr(str(expr))


def _undefined_set(e: sp.Expr) -> sp.Set | None:
    """Points of the real line where phi is undefined, complex, infinite or discontinuous.

    Decided by sympy (``continuous_domain`` piece by piece of a Piecewise, whose
    conditions must cover the real line); ``None`` where sympy cannot decide (erf,
    for instance), in which case :func:`_probe` checks a dense sample numerically.
    """
    import sympy as sp
    from sympy.calculus.util import continuous_domain

    from ._codegen import X

    reals = sp.S.Reals
    pieces = e.args if isinstance(e, sp.Piecewise) else ((e, sp.true),)
    bad: sp.Set = sp.S.EmptySet
    covered: sp.Set = sp.S.EmptySet
    undecided = False
    for piece, cond in pieces:
        try:
            region = reals if cond is sp.true else cond.as_set().intersect(reals)
        except (NotImplementedError, TypeError, ValueError):
            return None
        region = region - covered
        covered = covered | region
        if region is sp.S.EmptySet:
            continue
        try:
            dom = continuous_domain(piece, X, region)
        except (NotImplementedError, TypeError, ValueError):
            try:  # at least the poles
                dom = region - sp.singularities(piece, X, region)
            except (NotImplementedError, TypeError, ValueError):
                dom = region
            undecided = True
        bad = bad | (region - dom)
    bad = bad | (reals - covered)
    if bad is sp.S.EmptySet and undecided:
        return None
    return bad


def _check_real_line(e: sp.Expr, expr: Any) -> None:
    """Raise ``ValueError`` unless phi is real, finite and defined on the whole real line.

    A pole (``1/(x - 0.7)``), a branch cut (``(x**2 - 1600)**0.5`` is complex for
    |x| < 40) or a Piecewise without an otherwise-branch makes every Gaussian
    expectation undefined or divergent.
    """
    import sympy as sp

    bad = _undefined_set(e)
    if bad is None or bad is sp.S.EmptySet:
        return
    if isinstance(e, sp.Piecewise) and not any(c is sp.true for _, c in e.args):
        hint = "; a Piecewise needs an otherwise-branch such as (expr, True)"
    else:
        hint = ""
    raise ValueError(
        f"activation expression {_show(expr)} is not a real, finite, continuous function "
        f"on the whole real line: it fails for x in {bad}{hint}. Gaussian expectations of "
        "it are undefined or divergent"
    )


#: dense sample of [-30, 30] on which a new activation and its derivatives must be finite
_PROBE = np.concatenate([np.linspace(-30.0, 30.0, 1201), np.linspace(-5.0, 5.0, 1000) + 1e-3])


def _probe(eval_py: Callable, code: int, max_deriv: int, expr: Any) -> None:
    """Evaluate phi, phi', phi'' (those that exist) on ``_PROBE``; raise if one is not finite.

    Catches what sympy could not decide (an expression with erf and a pole, say).
    Overflow is left to the evaluation-time growth check (it depends on q).
    """
    for d in range(max_deriv + 1):
        for xv in _PROBE:
            xv = float(xv)
            try:
                v = eval_py(code, d, xv)
            except OverflowError:
                continue
            except (ZeroDivisionError, ValueError, TypeError) as exc:
                raise ValueError(
                    f"activation expression {_show(expr)}: {_DERIV_NAMES[d]} is not defined "
                    f"(or not real) at x = {xv:.6g}: {exc}"
                ) from None
            if math.isnan(v) or (math.isinf(v) and abs(xv) < 20.0):
                raise ValueError(
                    f"activation expression {_show(expr)}: {_DERIV_NAMES[d]} is not finite at "
                    f"x = {xv:.6g} (got {v})"
                )


def list_activations() -> list[str]:
    """Names of all registered activations (built-in first).

    Add one with :func:`register_activation`.
    """
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
    expr: str | sp.Expr | None = None,
    *,
    max_panel: float = math.inf,
    overwrite: bool = False,
) -> Activation:
    """Register a user activation from a sympy expression in ``x``.

    Derivatives phi', phi'' (which enter chi_1 and chi_2 of Poole et al. 2016) are
    derived with sympy (Meurer et al. 2017) and compiled with Numba;
    derivatives that contain a Dirac delta (a kink in phi or phi') are marked
    unavailable.  With ``expr`` omitted, ``name`` is the expression and names
    itself (``register_activation("tanh(x) + 0.1*x")``).  ``max_panel`` bounds the
    quadrature panel width (set it to about 2 for functions that oscillate on the
    unit scale).

    Raises ``ValueError`` (naming the expression) unless phi is real, finite and
    continuous on the whole real line: a pole (``1/(x - 0.7)``), a point where the
    expression is undefined as written (``sin(x)/x`` at 0), a branch cut
    (``(x**2 - 1600)**0.5``, complex on (-40, 40)), a Piecewise without an
    otherwise-branch, or a derivative phi', phi'' that is infinite somewhere
    (``Abs(x)**(1/3)``).  Growth is checked later, per q, by the expectations
    (:mod:`deeptheory.kernels.quadrature`), since E[phi(sqrt(q) z)^2] for
    phi = exp(x^2/4) is finite for q < 1 only.

    Examples
    --------
    >>> act = register_activation("leaky", "Max(x, 0.1*x)")   # doctest: +SKIP
    >>> act.max_deriv
    1
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name must be a non-empty string")
    if expr is None:
        expr = name
    key = name.strip().lower()
    if key in _ALIASES or (key in _REGISTRY and _REGISTRY[key].builtin):
        raise ValueError(f"{name!r} is a built-in activation; choose another name")
    if key in _REGISTRY and not overwrite:
        raise ValueError(f"activation {name!r} already registered (pass overwrite=True)")
    if not (max_panel > 0):
        raise ValueError(f"max_panel must be > 0, got {max_panel!r}")
    from ._codegen import _breakpoints, derive, eval_source, is_odd, parse_expr, to_source

    e = parse_expr(expr)
    _check_real_line(e, expr)
    try:
        der = derive(e)
    except (TypeError, NotImplementedError) as exc:  # sympy cannot decide a condition
        raise ValueError(
            f"activation expression {_show(expr)} cannot be analysed on the real line "
            f"({type(exc).__name__}: {exc}); write it with real, total branches"
        ) from None
    code = next(_USER_CODES)
    srcs = [None if d is None else to_source(d) for d in der.derivs]
    src = eval_source("act_eval_py", [(code, srcs)])
    ns: dict[str, Any] = {"math": math}
    exec(compile(src, f"<activation {key}>", "exec"), ns)  # noqa: S102 - generated from sympy
    eval_py = ns["act_eval_py"]
    eval_py.__qualname__ = f"act_eval_user{code}"
    _probe(eval_py, code, der.max_deriv, expr)
    act = _make(key, e, code, max_panel, der.max_deriv, _breakpoints(e), is_odd(e), eval_py,
                njit(eval_py), False)
    with _LOCK:
        _REGISTRY[key] = act
    return act
