"""Sympy -> Python source for activation functions and their derivatives.

This module is the single place where derivatives are *derived*: :func:`derive`
differentiates a sympy expression, decides which derivatives exist as
functions (a jump in phi^(d-1) puts a Dirac delta in phi^(d)), and
:func:`eval_source` prints the result as plain Python (``math`` module only)
that Numba compiles for the CPU and for CUDA.  ``tools/gen_activations.py``
uses it once to write ``_builtin_eval.py``; :func:`register_activation` uses it
at run time for user expressions.  It imports sympy, so nothing imports it at
start-up (the registry of built-ins uses the generated ``_builtin_eval.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

X = sp.Symbol("x", real=True)
MAX_DERIV = 2

_LOCALS = {
    "x": X,
    "erf": sp.erf,
    "tanh": sp.tanh,
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "pi": sp.pi,
    "Max": sp.Max,
    "Min": sp.Min,
    "Abs": sp.Abs,
    "Piecewise": sp.Piecewise,
    "Heaviside": sp.Heaviside,
}


def parse_expr(expr: str | sp.Expr) -> sp.Expr:
    """Parse a user expression in the single variable ``x`` into sympy.

    ``Max``, ``Min``, ``Abs`` and ``Heaviside`` are rewritten as ``Piecewise`` so
    that their derivatives print as code.  Raises ``ValueError`` for a string
    that does not parse or that has free symbols other than ``x``.
    """
    if isinstance(expr, str):
        try:
            e = sp.sympify(expr, locals=_LOCALS)
        except (sp.SympifyError, SyntaxError, TypeError) as exc:
            raise ValueError(f"activation expression {expr!r} does not parse: {exc}") from exc
    elif isinstance(expr, sp.Expr):
        e = expr.subs({s: X for s in expr.free_symbols if s.name == "x"})
    else:
        raise TypeError(f"activation expression must be a str or sympy.Expr, got {type(expr)!r}")
    if not isinstance(e, sp.Expr):
        raise ValueError(f"activation expression {expr!r} is not a scalar expression")
    extra = e.free_symbols - {X}
    if extra:
        names = ", ".join(sorted(s.name for s in extra))
        raise ValueError(f"activation expression may only use the variable x; found {names}")
    e = e.rewrite(sp.Piecewise) if e.has(sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign) else e
    return sp.piecewise_fold(e)


def _breakpoints(e: sp.Expr) -> set[sp.Expr]:
    pts: set[sp.Expr] = set()
    for pw in e.atoms(sp.Piecewise):
        for _, cond in pw.args:
            for rel in cond.atoms(sp.Rel) if not isinstance(cond, sp.Rel) else [cond]:
                sol = sp.solve(sp.Eq(rel.lhs, rel.rhs), X)
                pts.update(s for s in sol if s.is_real)
    return pts


def _continuous(e: sp.Expr, pts: set[sp.Expr]) -> bool:
    # sympy's one-sided limit of a Piecewise is unreliable; evaluate each side
    # at an exact rational offset instead (a jump is O(1), continuity O(h)).
    h = sp.Rational(1, 10**30)
    for p in pts:
        lo = sp.N(e.subs(X, p - h), 40)
        hi = sp.N(e.subs(X, p + h), 40)
        if abs(lo - hi) > sp.Float("1e-20"):
            return False
    return True


@dataclass(frozen=True)
class Derived:
    """An activation's derivatives phi, phi', phi'' (``None`` where phi^(d) has a delta)."""

    expr: sp.Expr
    derivs: tuple[sp.Expr | None, ...]

    @property
    def max_deriv(self) -> int:
        return max(d for d, e in enumerate(self.derivs) if e is not None)


def derive(expr: sp.Expr) -> Derived:
    """Differentiate ``expr`` up to order 2; stop where a derivative would contain a delta."""
    pts = _breakpoints(expr)
    derivs: list[sp.Expr | None] = [expr]
    for _ in range(MAX_DERIV):
        prev = derivs[-1]
        if prev is None or prev.has(sp.DiracDelta) or not _continuous(prev, pts):
            derivs.append(None)
            continue
        nxt = sp.diff(prev, X)
        derivs.append(None if nxt.has(sp.DiracDelta) else nxt)
    if not _continuous(expr, pts):
        raise ValueError("activation must be continuous (phi itself has a jump)")
    return Derived(expr, tuple(derivs))


def is_odd(expr: sp.Expr) -> bool:
    """True if phi(-x) = -phi(x) identically (sympy ``simplify``)."""
    try:
        return bool(sp.simplify(expr.subs(X, -X) + expr) == 0)
    except Exception:  # pragma: no cover - sympy corner cases
        return False


def kinks(expr: sp.Expr) -> list[float]:
    """Sorted Piecewise breakpoints of ``expr`` as floats (the quadrature's extra edges)."""
    return sorted(float(p) for p in _breakpoints(expr))


class _Printer(PythonCodePrinter):
    def _print_Piecewise(self, expr):  # noqa: N802 (sympy API)
        # sympy appends "else None" when the last condition is not True; use nan.
        out = super()._print_Piecewise(expr)
        return out.replace("else None", "else math.nan")


def to_source(e: sp.Expr) -> str:
    """Print a sympy expression in ``x`` as a Python expression using ``math``."""
    p = _Printer({"fully_qualified_modules": True, "strict": True})
    return p.doprint(e)


def eval_source(
    funcname: str,
    entries: list[tuple[int, list[str | None]]],
) -> str:
    """Source of ``funcname(code, d, x)`` dispatching on integer ``code`` and order ``d``.

    ``entries`` is ``[(code, [src_phi, src_dphi, src_d2phi]), ...]``; ``None``
    means "derivative does not exist" and returns nan (the Python layer
    refuses such requests before a kernel runs).
    """
    lines = [f"def {funcname}(code, d, x):"]
    kw = "if"
    for code, srcs in entries:
        lines.append(f"    {kw} code == {code}:")
        kw = "elif"
        for d, src in enumerate(srcs):
            body = "math.nan" if src is None else src
            lines.append(f"        if d == {d}:")
            lines.append(f"            return float({body})")
        lines.append("        return math.nan")
    lines.append("    return math.nan")
    return "\n".join(lines) + "\n"
