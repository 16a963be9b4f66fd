"""Shared pieces of the ``deeptheory`` command line: the one-line usage error and parser,
the argument types, the output-file check, the run-time guard, progress lines and number
formatting.  The limits and the cost table they read live in :mod:`deeptheory.cli`."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from .. import cli as _cli  # the public limits (VARIANCE_MAX, MAX_SECONDS, ...), read at call time

PROG = "deeptheory"


class _UsageError(Exception):
    """Bad command-line input: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are a single stderr line (status 2), not usage + message."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# ---------------------------------------------------------------- argument types


def _number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return v


def _nonneg_float(text: str) -> float:
    """A variance in [0, VARIANCE_MAX]."""
    v = _number(text)
    if not 0 <= v <= _cli.VARIANCE_MAX:
        raise argparse.ArgumentTypeError(
            f"must be a variance in [0, {_cli.VARIANCE_MAX:g}], got {text}")
    return v


def _pos_float(text: str) -> float:
    """A variance in (0, VARIANCE_MAX]."""
    v = _number(text)
    if not 0 < v <= _cli.VARIANCE_MAX:
        raise argparse.ArgumentTypeError(
            f"must be a variance in (0, {_cli.VARIANCE_MAX:g}], got {text}")
    return v


def _int_in(lo: int, hi: int | None = None, why: str = "", hi_text: str = "") -> Any:
    """argparse type: an integer in [lo, hi] (``why`` explains the bound in the error,
    ``hi_text`` writes hi)."""

    def conv(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if v < lo or (hi is not None and v > hi):
            rng = f">= {lo}" if hi is None else f"in [{lo}, {hi_text or hi}]"
            raise argparse.ArgumentTypeError(f"must be an integer {rng}{why}, got {v}")
        return v

    return conv


_grid_size = _int_in(2)
_depth = _int_in(1)
_nonneg_int = _int_in(0)
_seed = _int_in(0, 2**63 - 1, hi_text="2^63 - 1")
_dpi = _int_in(10, 1000)
_width = _int_in(2)
_records = _int_in(2, 1000)
_lyap_width = _int_in(2, 10000)
_steps = _int_in(10)


def _gain(text: str) -> float:
    """A gain g in (0, GAIN_MAX] (W_ij ~ N(0, g^2 / N))."""
    v = _number(text)
    if not 0 < v <= _cli.GAIN_MAX:
        raise argparse.ArgumentTypeError(f"must be a gain in (0, {_cli.GAIN_MAX:g}], got {text}")
    return v


def _tol(text: str) -> float:
    """A tolerance >= 0."""
    v = _number(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return v


def _positive_in(hi: float) -> Any:
    def parse(text: str) -> float:
        v = _number(text)
        if not 0.0 < v <= hi:
            raise argparse.ArgumentTypeError(f"must be in (0, {hi:g}], got {text}")
        return v
    return parse


_radius = _positive_in(100.0)
_spread = _positive_in(100.0)


def _lr(text: str) -> float:
    v = _number(text)
    if not 0.0 < v <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return v


def _qr_every(text: str) -> int | str:
    """``auto`` or an integer >= 1."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'auto' or an integer >= 1, got {text!r}") \
            from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be 'auto' or an integer >= 1, got {v}")
    return v


#: a plain name (not an expression): ``--activation nosuch`` is an unknown name
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _activation(text: str) -> str:
    """A registered activation name, or an expression in x (registered on the fly)."""
    from ..kernels import get_activation, register_activation

    try:
        return get_activation(text).name
    except (ValueError, TypeError) as exc:
        if _NAME.match(text.strip()) and text.strip() != "x":
            raise argparse.ArgumentTypeError(str(exc)) from None
    name = "".join(text.split())  # the expression, without blanks, is its registered name
    try:
        return get_activation(name).name
    except (ValueError, TypeError):
        pass
    try:
        return register_activation(name, text).name
    except Exception as exc:  # sympy raises several types; all mean "bad expression"
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "does not parse" in msg:
            msg = "it does not parse"
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a known activation nor a usable expression in x: {msg}"
        ) from None


# ---------------------------------------------------------------- checks, guard, progress


def _figure_types() -> dict[str, str]:
    """Extensions matplotlib's savefig can write (without importing pyplot)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return FigureCanvasBase.get_supported_filetypes()


def _check_out(out: Path, opt: str = "--out") -> Path:
    """The output figure file: an extension savefig writes, an existing writable directory."""
    types = _figure_types()
    ext = out.suffix.lower().lstrip(".")
    if ext not in types:
        got = f"'.{ext}'" if ext else "no extension"
        raise _UsageError(f"{opt}: {str(out)!r} has {got}; matplotlib writes "
                          f"{', '.join('.' + t for t in sorted(types))}")
    if out.is_dir():
        raise _UsageError(f"{opt}: {str(out)!r} is a directory")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise _UsageError(f"{opt}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _UsageError(f"{opt}: directory {str(parent)!r} is not writable")
    if out.exists() and not os.access(out, os.W_OK):
        raise _UsageError(f"{opt}: {str(out)!r} exists and is not writable")
    return out


def _duration(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def _guard(args: argparse.Namespace, seconds: float, what: str, hint: str) -> None:
    """Refuse a run estimated above MAX_SECONDS unless --force (a usage error)."""
    if seconds > _cli.MAX_SECONDS and not getattr(args, "force", False):
        raise _UsageError(
            f"{what}: estimated {_duration(seconds)} of CPU time, above the "
            f"{_duration(_cli.MAX_SECONDS)} "
            f"limit; {hint}, or pass --force to run it anyway")


class _Progress:
    """One stderr line per chunk: done/total, elapsed and remaining time."""

    def __init__(self, command: str, total: int, unit: str, enabled: bool) -> None:
        self.command, self.total, self.unit, self.enabled = command, total, unit, enabled
        self.t0 = time.perf_counter()

    def note(self, text: str) -> None:
        if self.enabled:
            print(f"{PROG} {self.command}: {text}", file=sys.stderr, flush=True)

    def update(self, done: int, label: str = "") -> None:
        if not self.enabled:
            return
        el = time.perf_counter() - self.t0
        what = f" ({label})" if label else ""
        if done >= self.total:
            tail = f"{_duration(el)} elapsed"
        else:
            tail = f"{_duration(el)} elapsed, ~{_duration(el * (self.total - done) / done)} left"
        self.note(f"{done}/{self.total} {self.unit}{what} ({100 * done / self.total:.0f}%), "
                  + tail)


def _require(act_name: str, order: int, what: str) -> Any:
    from ..kernels import get_activation

    act = get_activation(act_name)
    if act.max_deriv < order:
        d = "phi'" if order == 1 else "phi''"
        raise _UsageError(f"--activation: {what} needs {d}, which {act.name!r} does not have "
                          "(it contains a delta)")
    return act


def _fmt(v: float) -> str:
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.12g}"
