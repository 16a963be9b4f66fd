"""Start-up: importing a pillar imports neither sympy, mpmath nor matplotlib.

The activation registry of the built-ins is built from generated code and metadata
(``_builtin_eval.py``), so sympy is imported only when a user registers an expression
or asks for a sympy expression.  Each check runs in a fresh interpreter, since this
test session has long imported everything.  Timings: ``benchmarks/bench_startup.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

HEAVY = ("sympy", "mpmath", "matplotlib")
PILLARS = (
    "deeptheory",
    "deeptheory.kernels",
    "deeptheory.meanfield",
    "deeptheory.rmt",
    "deeptheory.spinglass",
    "deeptheory.infotheory",
)


def _run(script: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("pillar", PILLARS)
def test_pillar_import_is_light(pillar):
    out = _run(f"""
        import importlib, json, sys
        importlib.import_module({pillar!r})
        print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
        """)
    assert out == [], f"import {pillar} imported {out}"


def test_builtin_registry_needs_no_sympy():
    """Looking up and evaluating built-ins (metadata, values, a quadrature) stays sympy-free."""
    out = _run("""
        import json, sys
        import numpy as np
        from deeptheory.kernels import expect, get_activation, list_activations
        info = {}
        for name in list_activations():
            a = get_activation(name)
            info[name] = [a.max_deriv, a.kinks.tolist(), a.odd, a.edges.size,
                          a(0.3, a.max_deriv)]
        get_activation("SWISH"), get_activation("hardtanh")
        expect("tanh", np.array([0.5, 2.0]), (0, 0))
        heavy = [m for m in ("sympy", "mpmath") if m in sys.modules]
        expr = str(get_activation("relu").expr)          # now sympy is imported
        print(json.dumps({"heavy": heavy, "info": info, "expr": expr,
                          "after": "sympy" in sys.modules}))
        """)
    assert out["heavy"] == []
    assert out["info"]["relu"][:3] == [1, [0.0], False]
    assert out["info"]["hard_tanh"][:3] == [1, [-1.0, 1.0], True]
    assert out["info"]["tanh"][:3] == [2, [], True]
    assert out["expr"] == "Piecewise((0, x < 0), (x, True))"
    assert out["after"] is True


def test_user_registration_imports_sympy_lazily():
    out = _run("""
        import json, math, sys
        import numpy as np
        from deeptheory.kernels import expect, register_activation
        before = "sympy" in sys.modules
        act = register_activation("tp", "tanh(x) + 0.1*x")
        x = 0.7
        vals = [act(x, d) for d in range(3)]
        want = [math.tanh(x) + 0.1 * x, 1 - math.tanh(x) ** 2 + 0.1,
                -2 * math.tanh(x) * (1 - math.tanh(x) ** 2)]
        leaky = register_activation("leaky", "Max(x, 0.1*x)")
        e = float(expect(act, 1.0, (1, 1)))
        print(json.dumps({"before": before, "after": "sympy" in sys.modules, "vals": vals,
                          "want": want, "leaky": [leaky.max_deriv, leaky.kinks.tolist()],
                          "odd": act.odd, "e": e, "expr": str(act.derivative_expr(1))}))
        """)
    assert out["before"] is False
    assert out["after"] is True
    np.testing.assert_allclose(out["vals"], out["want"], rtol=1e-14, atol=1e-15)
    assert out["leaky"] == [1, [0.0]]
    assert out["odd"] is True
    assert out["expr"] == "1.1 - tanh(x)**2"
    assert 0.5 < out["e"] < 1.21


def test_builtin_metadata_matches_sympy():
    """The generated (max_deriv, kinks, odd) are what sympy derives from the definitions."""
    from deeptheory.kernels import _builtin_eval, get_activation
    from deeptheory.kernels._codegen import derive, is_odd, kinks, parse_expr
    from deeptheory.kernels.activation_defs import BUILTIN_DEFS

    assert sorted(_builtin_eval.BUILTIN_META) == sorted(d.code for d in BUILTIN_DEFS)
    for d in BUILTIN_DEFS:
        e = parse_expr(d.expr)
        act = get_activation(d.name)
        assert act.max_deriv == derive(e).max_deriv, d.name
        assert act.kinks.tolist() == kinks(e), d.name
        assert act.odd is is_odd(e), d.name
        assert act.expr == e, d.name


def test_stale_metadata_falls_back_to_sympy(monkeypatch):
    from deeptheory.kernels import _builtin_eval, activations
    from deeptheory.kernels.activation_defs import BUILTIN_DEFS

    want = {d.code: _builtin_eval.BUILTIN_META[d.code] for d in BUILTIN_DEFS}
    monkeypatch.setattr(_builtin_eval, "BUILTIN_META", {})
    for d in BUILTIN_DEFS:
        assert activations._builtin_meta(d) == want[d.code], d.name


def test_user_family_reuses_activation_independent_kernels():
    """Kernels that do not call act_eval (the rule builders) are shared with the built-ins."""
    import importlib

    from deeptheory.kernels import register_activation
    from deeptheory.kernels._specialise import _SPECS, _uses_act_eval, load_kernel_modules

    load_kernel_modules()
    fam = register_activation("startup_fam", "tanh(x) + 0.2*x", overwrite=True).family("cpu")
    shared, own = [], []
    for name, spec in _SPECS.items():
        if spec.role == "cuda":
            continue
        builtin = getattr(importlib.import_module(spec.py_func.__module__), name)
        if _uses_act_eval(spec.py_func):
            assert getattr(fam, name) is not builtin, name
            assert f"{name}__spec" in getattr(fam, name).py_func.__qualname__, name
            own.append(name)
        else:
            assert getattr(fam, name) is builtin, name
            shared.append(name)
    assert "fval" in own
    assert shared, "expected activation-independent kernels (the quadrature rule builders)"


def test_maths_subpackages_do_not_import_numba():
    """Compiled loops live in deeptheory.kernels; the maths subpackages call them and never
    import numba themselves (a source scan of every module's import statements)."""
    import ast
    from pathlib import Path

    import deeptheory

    root = Path(deeptheory.__file__).parent
    bad = []
    for sub in ("meanfield", "rmt", "spinglass", "dynamics", "infotheory", "sweep", "verify"):
        for f in sorted((root / sub).rglob("*.py")):
            for node in ast.walk(ast.parse(f.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if any(n == "numba" or n.startswith("numba.") for n in names):
                    bad.append(f"{f.relative_to(root)}:{node.lineno}")
    assert not bad, bad
