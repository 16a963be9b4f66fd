"""Benchmark: start-up time, ``import deeptheory.meanfield`` vs numpy + scipy, and the first call.

    python benchmarks/bench_startup.py [--n 21] [--no-first-call] [--breakdown]

1. Import time.  Fresh interpreters (same Python, same environment), alternating
   between the baseline ``import numpy, scipy.special, scipy.optimize`` and
   ``import deeptheory.meanfield``; each child times its own import statement
   (``time.perf_counter`` and ``time.process_time`` around it, so interpreter
   start-up is excluded from both).  Prints the median and the minimum of each and
   the ratio deeptheory / baseline (target <= 1.5), plus ``import numba`` alone,
   since every compiled kernel module imports it.  Also checks, in the
   deeptheory child, that sympy, mpmath and matplotlib were not imported.

2. First call without a Numba cache.  A fresh interpreter with ``NUMBA_CACHE_DIR``
   pointed at an empty temporary directory runs
   ``deeptheory.meanfield.phase_diagram(np.linspace(0.5, 3, 8), np.linspace(0, 1, 8),
   "tanh")`` and prints the CPU seconds (``time.process_time``, all threads) of the call
   (target < 5 CPU-s), then the same in a second interpreter that reuses the cache.
   With ``--breakdown`` the first child also records Numba's ``numba:compile``,
   ``numba:run_pass`` and ``numba:llvm_lock`` events and prints, per compiled function
   and signature, the inclusive and exclusive (nested compilations subtracted) CPU
   seconds, and the CPU seconds per compiler pass.

The machine may be shared: medians over many alternating runs are the honest number.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

BASELINE = "numpy, scipy.special, scipy.optimize"
TARGET = "deeptheory.meanfield"
HEAVY = ("sympy", "mpmath", "matplotlib")

_IMPORT_CHILD = """
import sys, time, json
w0 = time.perf_counter(); c0 = time.process_time()
import {mod}
w1 = time.perf_counter(); c1 = time.process_time()
print(json.dumps({{"wall": w1 - w0, "cpu": c1 - c0,
                  "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""

_FIRST_CALL_CHILD = """
import json, sys, time
breakdown = {breakdown!r}
w0 = time.perf_counter(); c0 = time.process_time()
import numpy as np
import deeptheory.meanfield as mf
w1 = time.perf_counter(); c1 = time.process_time()
if breakdown:
    import numba.core.event as ev

    class CPURecorder(ev.Listener):
        def __init__(self):
            self.buffer = []

        def on_start(self, event):
            self.buffer.append((time.process_time(), event))

        def on_end(self, event):
            self.buffer.append((time.process_time(), event))

    rec = CPURecorder()
    kinds = ("numba:compile", "numba:run_pass", "numba:llvm_lock")
    for k in kinds:
        ev.register(k, rec)
w2 = time.perf_counter(); c2 = time.process_time()
pd = mf.phase_diagram(np.linspace(0.5, 3, 8), np.linspace(0, 1, 8), "tanh")
w3 = time.perf_counter(); c3 = time.process_time()
out = {{"import_wall": w1 - w0, "import_cpu": c1 - c0, "call_wall": w3 - w2,
        "call_cpu": c3 - c2, "sympy": "sympy" in sys.modules, "compiles": [], "passes": {{}},
        "llvm": 0.0}}
if breakdown:
    for k in kinds:
        ev.unregister(k, rec)
    stacks = {{k: [] for k in kinds}}
    for t, e in rec.buffer:
        stack = stacks[e.kind]
        if e.is_start:
            stack.append([t, 0.0])
            continue
        t0, child = stack.pop()
        incl = t - t0
        if stack:
            stack[-1][1] += incl
        if e.kind == "numba:llvm_lock":
            if not stack:
                out["llvm"] += incl
        elif e.kind == "numba:run_pass":
            name = e.data["name"].split(" [")[0]
            out["passes"][name] = out["passes"].get(name, 0.0) + incl - child
        else:
            disp = e.data["dispatcher"]
            fn = getattr(disp, "py_func", None)
            name = f"{{getattr(fn, '__module__', '?')}}.{{getattr(fn, '__qualname__', disp)}}"
            out["compiles"].append({{"name": name, "incl": incl, "excl": incl - child,
                                    "args": ", ".join(str(a) for a in e.data["args"])}})
print(json.dumps(out))
"""


def _child(code: str, env: dict[str, str] | None = None) -> dict:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"child failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def import_times(n: int) -> dict[str, list[dict]]:
    mods = (BASELINE, TARGET, "numba")
    out: dict[str, list[dict]] = {m: [] for m in mods}
    for m in mods:  # warm the OS file cache and the .pyc files once, untimed
        _child(_IMPORT_CHILD.format(mod=m, heavy=HEAVY))
    for i in range(n):
        order = mods if i % 2 == 0 else mods[::-1]
        for m in order:
            out[m].append(_child(_IMPORT_CHILD.format(mod=m, heavy=HEAVY)))
    return out


def first_call(breakdown: bool) -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory(prefix="numba_cache_") as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=d)
        cold = _child(_FIRST_CALL_CHILD.format(breakdown=breakdown), env)
        warm = _child(_FIRST_CALL_CHILD.format(breakdown=False), env)
    return cold, warm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=21, help="fresh interpreters per module")
    ap.add_argument("--no-first-call", action="store_true")
    ap.add_argument("--breakdown", action="store_true",
                    help="per-kernel Numba compile times of the first call")
    args = ap.parse_args()

    print(f"python {sys.version.split()[0]} ({sys.executable}), {os.cpu_count()} CPUs")
    t = import_times(args.n)
    med = {m: statistics.median(r["wall"] for r in v) for m, v in t.items()}
    mn = {m: min(r["wall"] for r in v) for m, v in t.items()}
    cpu = {m: statistics.median(r["cpu"] for r in v) for m, v in t.items()}
    print(f"\nimport time, {args.n} fresh interpreters each, alternating (seconds)")
    print(f"{'import':<42} {'median':>8} {'min':>8} {'cpu med':>8}")
    for m in t:
        print(f"{m:<42} {med[m]:8.3f} {mn[m]:8.3f} {cpu[m]:8.3f}")
    ratio = med[TARGET] / med[BASELINE]
    print(f"ratio {TARGET} / baseline: median {ratio:.2f}, "
          f"min {mn[TARGET] / mn[BASELINE]:.2f}  (target <= 1.5: "
          f"{'met' if ratio <= 1.5 else 'MISSED'})")
    heavy = sorted({h for r in t[TARGET] for h in r["heavy"]})
    print(f"heavy modules imported by {TARGET}: {', '.join(heavy) if heavy else 'none'}")

    if args.no_first_call:
        return
    cold, warm = first_call(args.breakdown)
    print("\nfirst phase_diagram(8 x 8, tanh) call, fresh interpreter")
    print(f"  empty Numba cache: {cold['call_cpu']:.2f} CPU-s ({cold['call_wall']:.2f} s wall)"
          f"  (target < 5 CPU-s: {'met' if cold['call_cpu'] < 5 else 'MISSED'})")
    print(f"  cache reused:      {warm['call_cpu']:.2f} CPU-s ({warm['call_wall']:.2f} s wall)")
    print(f"  sympy imported by the call: {cold['sympy']}")
    if args.breakdown:
        comp = cold["compiles"]
        total = sum(c["excl"] for c in comp)
        print(f"\nNumba compilations in the cold call: {len(comp)}, {total:.2f} CPU-s in all "
              f"(of which {cold['llvm']:.2f} CPU-s holding the LLVM lock); the rest of the "
              "call is dispatch, cache writes and running")
        print(f"{'excl':>6} {'incl':>6}  CPU-s, function (argument types)")
        for c in sorted(comp, key=lambda c: -c["excl"]):
            print(f"{c['excl']:6.2f} {c['incl']:6.2f}  {c['name']} ({c['args'][:80]})")
        print("\nby compiler pass (exclusive CPU-s, top 8)")
        for name, v in sorted(cold["passes"].items(), key=lambda kv: -kv[1])[:8]:
            print(f"{v:6.2f}  {name}")


if __name__ == "__main__":
    main()
