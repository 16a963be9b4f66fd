"""NNGP and NTK numbers from neural-tangents, stored for tests/test_widekernels_reference.py.

Run with a Python that has jax and neural-tangents (never needed by deeptheory itself):

    python -m venv /tmp/ntvenv
    /tmp/ntvenv/bin/pip install neural-tangents "jax[cpu]==0.4.35" "tf2jax==0.3.6"
    /tmp/ntvenv/bin/python tests/data/make_neural_tangents_reference.py

(neural-tangents 0.6.5 imports ``jax.core.Jaxpr``, gone from jax >= 0.5, and
tf2jax >= 0.3.7 needs a newer jax: hence the pins.)  It writes
``tests/data/neural_tangents_reference.json`` with float64 kernels (jax_enable_x64)
of

    stax.serial(*[Dense(width, W_std, b_std, parameterization=P), Act()] * L,
                Dense(1, W_std, b_std, parameterization=P))

for Act in {Relu, Erf}, L in {1, 3}, P in {"ntk", "standard"} and a few
(W_std, b_std), on the fixed inputs ``X`` below.  b_std = None means no bias at all;
in the "standard" parameterisation that differs from b_std = 0.0 (a bias initialised
at zero still has the gradient 1 and adds 1 to the NTK of every layer).  The hidden
width only enters the "standard" NTK, so that case is stored for two widths.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import neural_tangents as nt  # noqa: E402
import numpy as np  # noqa: E402
from neural_tangents import stax  # noqa: E402

OUT = Path(__file__).resolve().parent / "neural_tangents_reference.json"

#: 5 inputs in d = 3: varied norms, an exactly parallel pair (rows 0 and 3), a small one
X = [
    [1.0, 0.5, -0.3],
    [0.2, -1.1, 0.7],
    [-0.8, 0.4, 1.5],
    [2.0, 1.0, -0.6],
    [0.05, 0.1, -0.02],
]
ACTIVATIONS = {"relu": stax.Relu, "erf": stax.Erf}
DEPTHS = (1, 3)
STDS = [(1.5, 0.1), (2.0**0.5, 0.0), (2.0**0.5, None), (0.9, 0.5)]
WIDTHS = {"ntk": (512,), "standard": (512, 100)}


def kernels(activation, depth, w_std, b_std, parameterization, width):
    layers = []
    for _ in range(depth):
        layers += [stax.Dense(width, w_std, b_std, parameterization=parameterization),
                   ACTIVATIONS[activation]()]
    layers.append(stax.Dense(1, w_std, b_std, parameterization=parameterization))
    _, _, kernel_fn = stax.serial(*layers)
    k = kernel_fn(jnp.asarray(X, dtype=jnp.float64), None, ("nngp", "ntk"))
    assert k.nngp.dtype == jnp.float64
    return np.asarray(k.nngp).tolist(), np.asarray(k.ntk).tolist()


def main() -> None:
    cases = []
    for activation in ACTIVATIONS:
        for depth in DEPTHS:
            for w_std, b_std in STDS:
                for parameterization, widths in WIDTHS.items():
                    for width in widths:
                        nngp, ntk = kernels(activation, depth, w_std, b_std,
                                            parameterization, width)
                        cases.append({
                            "activation": activation, "depth": depth,
                            "parameterization": parameterization, "width": width,
                            "W_std": w_std, "b_std": b_std,
                            "sigma_w2": w_std**2, "sigma_b2": 0.0 if b_std is None else b_std**2,
                            "bias": b_std is not None, "nngp": nngp, "ntk": ntk,
                        })
    payload = {
        "description": "kernel_fn(X, None, ('nngp', 'ntk')) of stax.serial(*[Dense(width, "
                       "W_std, b_std, parameterization=P), Act()] * depth, Dense(1, W_std, "
                       "b_std, parameterization=P)) in float64; made by "
                       "make_neural_tangents_reference.py",
        "jax_version": jax.__version__, "jaxlib_version": jax.lib.__version__,
        "neural_tangents_version": nt.__version__,
        "python_version": sys.version.split()[0],
        "x": X, "cases": cases,
    }
    OUT.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
