"""Benchmark: KSG mutual information, library vs a reference implementation, same process.

    python benchmarks/bench_infotheory.py [--sizes 10000 100000] [--dims 2 10]

For each N and total dimension d (split evenly between X and Y, a Gaussian vector with
known I(X;Y) = 0.5 nats), times ``deeptheory.infotheory.ksg_mi`` (algorithm 1, k = 3)
against

* scikit-learn's ``mutual_info_regression`` when scikit-learn is installed and d = 2
  (it handles one feature against one target; it standardises and adds its own noise, so
  its value differs slightly), and
* a plain scipy implementation of KSG algorithm 1 with ``cKDTree`` defaults (one
  thread, leaf size 16; k-th neighbour distance in the joint space, marginal counts by
  ``query_ball_point`` with the radius nudged below by one ulp), run on the same
  jittered data, so its value must equal the library's to rounding.

Prints both values side by side, the truth, the times and the ratio (target >= 2x).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from deeptheory.infotheory import add_jitter, gaussian_mi, ksg_mi


def gaussian_sample(n: int, d: int, mi: float, seed: int):
    """X, Y of d/2 dims each; pairs (x_i, y_i) with correlation rho, I = 0.5 nats total."""
    h = d // 2
    rho = math.sqrt(1.0 - math.exp(-2.0 * mi / h))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h))
    y = rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal((n, h))
    cov = np.block([[np.eye(h), rho * np.eye(h)], [rho * np.eye(h), np.eye(h)]])
    return x, y, gaussian_mi(cov, list(range(h)), list(range(h, 2 * h)))


def scipy_ksg1(x: np.ndarray, y: np.ndarray, k: int = 3) -> float:
    """KSG algorithm 1 with plain scipy: psi(k) + psi(N) - <psi(n_x + 1) + psi(n_y + 1)>."""
    n = x.shape[0]
    z = np.hstack([x, y])
    dist, _ = cKDTree(z).query(z, k=k + 1, p=np.inf)
    eps = np.nextafter(dist[:, -1], 0)  # strictly inside the k-th neighbour distance
    nx = cKDTree(x).query_ball_point(x, eps, p=np.inf, return_length=True) - 1
    ny = cKDTree(y).query_ball_point(y, eps, p=np.inf, return_length=True) - 1
    return float(digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--dims", type=int, nargs="+", default=[2, 10])
    args = ap.parse_args()
    try:
        from sklearn.feature_selection import mutual_info_regression
    except ImportError:
        mutual_info_regression = None
        print("scikit-learn not installed: comparing with the plain scipy implementation only")
    ksg_mi(np.arange(20.0), np.arange(20.0) ** 2)  # JIT warm-up
    print(f"{'N':>7} {'d':>3} {'truth':>8} {'library':>9} {'scipy':>9} {'t_lib':>8} "
          f"{'t_scipy':>8} {'ratio':>6}")
    for n in args.sizes:
        for d in args.dims:
            x, y, truth = gaussian_sample(n, d, 0.5, seed=1)
            t = time.perf_counter()
            v = ksg_mi(x, y, k=3, seed=0)
            t_lib = time.perf_counter() - t
            xj, yj = add_jitter(x, y, 1e-10, seed=0)
            t = time.perf_counter()
            v_ref = scipy_ksg1(xj, yj, k=3)
            t_ref = time.perf_counter() - t
            print(f"{n:7d} {d:3d} {truth:8.4f} {v:9.5f} {v_ref:9.5f} {t_lib:8.3f} "
                  f"{t_ref:8.3f} {t_ref / t_lib:6.1f}")
            if mutual_info_regression is not None and d == 2:
                t = time.perf_counter()
                v_sk = float(mutual_info_regression(x, y[:, 0], n_neighbors=3,
                                                    random_state=0)[0])
                t_sk = time.perf_counter() - t
                print(f"{'':>7} {'':>3} {'':>8} {'':>9} sklearn {v_sk:9.5f} {t_sk:8.3f} s, "
                      f"ratio {t_sk / t_lib:.1f}")


if __name__ == "__main__":
    main()
