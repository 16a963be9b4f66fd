"""Compiled Monte Carlo of spin systems: Metropolis sweeps, replica exchange, sphere moves.

Generic loops (the models live in :mod:`deeptheory.spinglass.models`, the statistics in
:mod:`deeptheory.spinglass.montecarlo`).  Four kinds of system, one driver:

* ``DENSE``: Ising spins s_i = +-1 (int8) with a dense symmetric coupling matrix C (zero
  diagonal) and a field h_i, H = -1/2 s.C.s - h.s.  Each replica keeps its local fields
  l_i = (C s)_i + h_i; a flip of s_i costs dE = 2 s_i l_i and updates l in O(N).
* ``LATTICE``: Ising spins on a lattice given by a neighbour table (N, z) (each bond listed
  from both ends; a site listed twice carries two bonds), H = -J/2 sum_i sum_k s_i s_nb(i,k)
  - h sum s_i.  dE = 2 s_i (J m_i + h), m_i the neighbour sum, takes 2 (z + 1) values whose
  acceptance probabilities are tabulated once per sweep.  Sites are visited in a fixed
  ``order``: the checkerboard order (all sites of one sublattice, then the other) for a
  bipartite lattice, so that each half-sweep updates sites whose neighbours are all fixed.
* ``SQUARE``: the periodic L x L square lattice (site x + L y) with the same energy, its
  checkerboard sweep written with index arithmetic instead of the table (the fast path).
* ``SPHERE_METROPOLIS``: points on |x|^2 = N, H = sum_c a_c T_c(x, ..., x) with symmetric
  tensors T_c (contracted by :func:`deeptheory.kernels.tensor.tensor_value`); a move proposes
  x' = sqrt(N) (x + delta xi) / |x + delta xi|, xi ~ N(0, I): the proposal density depends
  only on x.x', so it is symmetric and min(1, exp(-beta dE)) gives detailed balance.
* ``SPHERE_LANGEVIN``: x' = sqrt(N) y / |y|, y = x - eta beta grad_R H + sqrt(2 eta) P xi
  (projected Euler-Maruyama, gradient from :func:`deeptheory.kernels.tensor.tensor_grad`):
  always accepted, stationary law exp(-beta H) up to an O(eta) bias.

Single-spin Metropolis (Metropolis, Rosenbluth, Rosenbluth, Teller & Teller 1953) visits the
spins in a fixed order (a sweep); a fixed-order sweep leaves the Gibbs measure invariant (each
single-spin update does).  Replica exchange (Swendsen & Wang 1986; Hukushima & Nemoto 1996):
the replicas of ``n_copies`` independent copies sit at the temperatures of one ladder
beta_0 < ... < beta_{K-1}; after every block of sweeps, for the pairs (k, k + 1) with k of the
block's parity (even, odd, alternating), the configurations at beta_k and beta_{k+1} are
exchanged with probability min(1, exp((beta_k - beta_{k+1}) (E_a - E_b))), E_a the energy at
beta_k: the product measure prod_k exp(-beta_k H) / Z(beta_k) is invariant.  Exchanges swap the
temperature labels (``temp_of``, ``rep_at``), never the N spins.

Random numbers are counter based: the u-th uniform of a stream is SplitMix64 applied to
key + (u + 1) * golden (Steele, Lea & Flood 2014), the top 53 bits scaled to [0, 1).  Replica r
(a slot, whatever temperature it holds) has its own 64-bit key and uses counter
sweep * N + i for site i (spheres: the pair 2 (step (N + 1) + i), plus one for i = N
to accept or reject); copy c's exchanges use their own key
and counter block * K + k.  A replica's trajectory is thus a function of the keys, the global
sweep index and the exchange decisions (made serially, in a fixed order): bit for bit the same
for any number of threads and for the serial and the parallel driver.

Threads: the replicas of a block run in a ``prange`` loop (:func:`run_parallel`) or a plain
loop (:func:`run_serial`) over the same body; the caller picks one with
:func:`deeptheory.kernels._threads.pick` from the estimated work of one block (one fork-join
per block).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .tensor import tensor_grad, tensor_value

__all__ = [
    "DENSE",
    "LATTICE",
    "SPHERE_LANGEVIN",
    "SPHERE_METROPOLIS",
    "SQUARE",
    "checkerboard_order",
    "run_parallel",
    "run_serial",
    "swap_step",
    "uniform",
]

DENSE = 0
LATTICE = 1
SQUARE = 2
SPHERE_METROPOLIS = 3
SPHERE_LANGEVIN = 4

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_INV53 = 1.0 / 9007199254740992.0
#: acceptance of a single-spin flip that leaves the energy unchanged (dE = 0).  Metropolis's
#: min(1, e^0) = 1 makes such moves deterministic, and with a fixed visiting order that is
#: not ergodic: on a ring at h = 0 a sweep moves every domain wall by one site and the
#: difference (walls on even bonds) - (walls on odd bonds) never changes, so the chain is
#: stuck in one sector (measured: L = 32, beta = 1/3, energy -0.3319 against the exact
#: -0.3215).  Accepting dE = 0 moves with probability 1/2 keeps detailed balance (the move
#: and its reverse have the same probability) and breaks the invariant.
ZERO_MOVE_ACCEPT = 0.5
#: target acceptance of the sphere Metropolis step, tuned during burn-in only
SPHERE_TARGET_ACC = 0.35
#: moves per replica between two step adaptations (burn-in)
SPHERE_ADAPT_MOVES = 64


@njit(cache=True, inline="always")
def _mix64(z):  # pragma: no cover - compiled
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def uniform(key, ctr):  # pragma: no cover - compiled
    """The uniform in [0, 1) number ``ctr`` (uint64) of the stream ``key`` (uint64)."""
    return np.float64(_mix64(key + (ctr + _ONE) * _GOLDEN) >> _S11) * _INV53


@njit(cache=True)
def _normal(key, ctr):  # pragma: no cover - compiled
    """A standard normal from uniforms 2 ctr and 2 ctr + 1 (Box-Muller)."""
    c2 = ctr + ctr
    u1 = 1.0 - uniform(key, c2)  # (0, 1]
    u2 = uniform(key, c2 + _ONE)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def checkerboard_order(nb: np.ndarray) -> np.ndarray:
    """Site order for :data:`LATTICE` sweeps: a 2-colouring of the neighbour graph by breadth-
    first search, colour 0 first (each colour ascending); for a graph that is not bipartite
    (a periodic lattice of odd side) the plain order 0..N-1 (any fixed order is valid).  Used
    by the :data:`LATTICE` sweeps of :func:`run_serial` / :func:`run_parallel`."""
    n = nb.shape[0]
    col = np.full(n, -1, dtype=np.int64)
    for start in range(n):
        if col[start] >= 0:
            continue
        col[start] = 0
        stack = [start]
        while stack:
            i = stack.pop()
            for j in nb[i]:
                if j == i:
                    return np.arange(n, dtype=np.int32)
                if col[j] < 0:
                    col[j] = 1 - col[i]
                    stack.append(int(j))
                elif col[j] == col[i]:
                    return np.arange(n, dtype=np.int32)
    return np.concatenate([np.flatnonzero(col == 0), np.flatnonzero(col == 1)]).astype(np.int32)


# --------------------------------------------------------------------------------------------
# one sweep of one replica


@njit(cache=True)
def _dense_sweep(cmat, s, lf, beta, key, ctr0):  # pragma: no cover - compiled
    """Metropolis sweep i = 0..N-1 with local fields ``lf`` = C s + h kept up to date."""
    n = s.shape[0]
    de_tot = 0.0
    dm = 0
    acc = 0
    for i in range(n):
        si = s[i]
        de = 2.0 * si * lf[i]
        if de > 0.0:
            if uniform(key, ctr0 + np.uint64(i)) >= math.exp(-beta * de):
                continue
        elif de == 0.0:  # see ZERO_MOVE_ACCEPT
            if uniform(key, ctr0 + np.uint64(i)) >= ZERO_MOVE_ACCEPT:
                continue
        s[i] = -si
        c = -2.0 * si
        row = cmat[i]
        for j in range(n):
            lf[j] += c * row[j]
        de_tot += de
        dm -= 2 * si
        acc += 1
    return de_tot, dm, acc


@njit(cache=True)
def _fill_table(z, jc, hc, beta, table):  # pragma: no cover - compiled
    """table[(z + 1) a + k]: acceptance of flipping s_i = 2a - 1 with neighbour sum
    m = 2k - z, i.e. index ((z + 1)(s_i + 1) + m + z) / 2."""
    for a in range(2):
        si = 2 * a - 1
        for k in range(z + 1):
            de = 2.0 * si * (jc * (2 * k - z) + hc)
            if de < 0.0:
                table[(z + 1) * a + k] = 1.0
            elif de == 0.0:
                table[(z + 1) * a + k] = ZERO_MOVE_ACCEPT
            else:
                table[(z + 1) * a + k] = math.exp(-beta * de)


@njit(cache=True)
def _lattice_sweep(nb, order, jc, hc, s, beta, key, ctr0, table):  # pragma: no cover
    """Metropolis sweep over ``order`` with the tabulated acceptance of the 2 (z + 1) moves.

    Branch-free: every site draws its uniform (counter ctr0 + i) and flips when u < p (p = 1
    for moves that lower the energy, ZERO_MOVE_ACCEPT for dE = 0); the energy change is
    accumulated in integers, dE = 2 J sum(s_i m_i) + 2 h sum(s_i) over the flipped sites."""
    z = nb.shape[1]
    _fill_table(z, jc, hc, beta, table)
    ssm = 0
    ss = 0
    acc = 0
    for t in range(order.shape[0]):
        i = np.uint64(order[t])
        m = 0
        for k in range(z):
            m += s[np.uint64(nb[i, k])]
        si = np.int64(s[i])
        p = table[np.uint64(((z + 1) * (si + 1) + m + z) >> 1)]
        f = np.int64(uniform(key, ctr0 + i) < p)
        fs = f * si
        s[i] = si - 2 * fs
        ssm += fs * m
        ss += fs
        acc += f
    return 2.0 * (jc * ssm + hc * ss), -2 * ss, acc


@njit(cache=True, inline="always")
def _square_site(s, i, il, ir, iu, idn, table, key, ctr0):  # pragma: no cover - compiled
    """One branch-free Metropolis update of site i with neighbours il, ir, iu, idn (uint64)."""
    m = np.int64(s[ir]) + s[il] + s[iu] + s[idn]
    si = np.int64(s[i])
    p = table[np.uint64((5 * (si + 1) + m + 4) >> 1)]
    f = np.int64(uniform(key, ctr0 + i) < p)
    fs = f * si
    s[i] = si - 2 * fs
    return fs * m, fs, f


@njit(cache=True)
def _square_sweep(side, jc, hc, s, beta, key, ctr0, table):  # pragma: no cover - compiled
    """Checkerboard Metropolis sweep of the periodic side x side square lattice (site
    i = x + side y): the sites with x + y even, then those with x + y odd (for odd side every
    site is still visited once, the colouring just is not proper across the boundary).  The
    neighbour sum counts two bonds for side 2 (+x and -x coincide), as the neighbour table
    does.  Branch-free like :func:`_lattice_sweep`; unsigned indices, the first and last
    column of a row (where x +- 1 wraps) split off the interior loop."""
    _fill_table(4, jc, hc, beta, table)
    ssm = 0
    ss = 0
    acc = 0
    us = np.uint64(side)
    for colour in range(2):
        for y in range(side):
            row = np.uint64(y * side)
            up = np.uint64((y + 1) * side if y + 1 < side else 0)
            dn = np.uint64((y - 1) * side if y > 0 else (side - 1) * side)
            x = (y + colour) & 1
            if x == 0:  # x = 0: the left neighbour wraps
                a1, a2, a3 = _square_site(s, row, row + us - _ONE, row + _ONE, up, dn, table,
                                          key, ctr0)
                ssm += a1
                ss += a2
                acc += a3
                x = 2
            while x <= side - 2:
                ux = np.uint64(x)
                i = row + ux
                a1, a2, a3 = _square_site(s, i, i - _ONE, i + _ONE, up + ux, dn + ux, table,
                                          key, ctr0)
                ssm += a1
                ss += a2
                acc += a3
                x += 2
            if x == side - 1:  # the right neighbour wraps
                ux = np.uint64(x)
                i = row + ux
                a1, a2, a3 = _square_site(s, i, i - _ONE, row, up + ux, dn + ux, table, key,
                                          ctr0)
                ssm += a1
                ss += a2
                acc += a3
    return 2.0 * (jc * ssm + hc * ss), -2 * ss, acc


@njit(cache=True)
def sphere_energy(flat, offs, ps, coefs, n, x):  # pragma: no cover - compiled
    """sum_c coefs[c] T_c(x, ..., x), T_c = flat[offs[c]:offs[c + 1]] of order ps[c]."""
    e = 0.0
    for c in range(ps.shape[0]):
        e += coefs[c] * tensor_value(flat[offs[c]:offs[c + 1]], n, ps[c], x)
    return e


@njit(cache=True)
def _sphere_grad(flat, offs, ps, coefs, n, x, g):  # pragma: no cover - compiled
    for i in range(n):
        g[i] = 0.0
    for c in range(ps.shape[0]):
        gc = tensor_grad(flat[offs[c]:offs[c + 1]], n, ps[c], x)
        for i in range(n):
            g[i] += coefs[c] * gc[i]


@njit(cache=True)
def _sphere_step(kind, flat, offs, ps, coefs, x, e, beta, step, key, ctr0, y, g):
    # pragma: no cover - compiled
    """One sphere move of the point ``x`` (energy ``e``) in place; returns (new e, accepted)."""
    n = x.shape[0]
    if kind == SPHERE_METROPOLIS:
        nrm = 0.0
        for i in range(n):
            v = x[i] + step * _normal(key, ctr0 + np.uint64(i))
            y[i] = v
            nrm += v * v
        sc = math.sqrt(n / nrm)
        for i in range(n):
            y[i] *= sc
        e_new = sphere_energy(flat, offs, ps, coefs, n, y)
        de = e_new - e
        if de > 0.0:
            if uniform(key, (ctr0 + np.uint64(n)) << _ONE) >= math.exp(-beta * de):
                return e, 0
        for i in range(n):
            x[i] = y[i]
        return e_new, 1
    # Langevin: y = x - eta beta P grad + sqrt(2 eta) P xi, then back onto the sphere
    _sphere_grad(flat, offs, ps, coefs, n, x, g)
    sg = 0.0
    sx = 0.0
    for i in range(n):
        y[i] = _normal(key, ctr0 + np.uint64(i))
        sg += x[i] * g[i]
        sx += x[i] * y[i]
    sg /= n
    sx /= n
    amp = math.sqrt(2.0 * step)
    nrm = 0.0
    for i in range(n):
        v = x[i] - step * beta * (g[i] - sg * x[i]) + amp * (y[i] - sx * x[i])
        y[i] = v
        nrm += v * v
    sc = math.sqrt(n / nrm)
    for i in range(n):
        x[i] = y[i] * sc
    return sphere_energy(flat, offs, ps, coefs, n, x), 1


# --------------------------------------------------------------------------------------------
# a block of sweeps of one replica, the exchange step, the measurements


@njit(cache=True)
def _replica_block(kind, r, n_sw, sweep0, cmat, nb, order, jc, hc, flat, offs, ps, coefs,
                   spins, lf, xs, energy, mag, temp_of, copy_of, betas, steps, keys, table,
                   work, acc_blk, track, min_e, best):  # pragma: no cover - compiled
    """``n_sw`` sweeps (sphere: moves) of replica r at its current temperature."""
    k = temp_of[r]
    beta = betas[k]
    acc = 0
    for t in range(n_sw):
        sweep = np.uint64(sweep0 + t)
        if kind == DENSE:
            n = spins.shape[1]
            de, dm, a = _dense_sweep(cmat, spins[r], lf[r], beta, keys[r], sweep * np.uint64(n))
            energy[r] += de
            mag[r] += dm
        elif kind == LATTICE:
            n = spins.shape[1]
            de, dm, a = _lattice_sweep(nb, order, jc, hc, spins[r], beta, keys[r],
                                       sweep * np.uint64(n), table[r])
            energy[r] += de
            mag[r] += dm
        elif kind == SQUARE:
            n = spins.shape[1]
            side = int(math.sqrt(n) + 0.5)
            de, dm, a = _square_sweep(side, jc, hc, spins[r], beta, keys[r],
                                      sweep * np.uint64(n), table[r])
            energy[r] += de
            mag[r] += dm
        else:
            n = xs.shape[1]
            e_new, a = _sphere_step(kind, flat, offs, ps, coefs, xs[r], energy[r], beta,
                                    steps[k], keys[r], sweep * np.uint64(n + 1),
                                    work[r, 0], work[r, 1])
            energy[r] = e_new
            if a:
                m = 0.0
                for i in range(n):
                    m += xs[r, i]
                mag[r] = m
        acc += a
        if track and energy[r] < min_e[r]:
            min_e[r] = energy[r]
            if kind <= SQUARE:
                for i in range(spins.shape[1]):
                    best[r, i] = spins[r, i]
            else:
                for i in range(xs.shape[1]):
                    best[r, i] = xs[r, i]
    acc_blk[copy_of[r], k] += acc


@njit(cache=True)
def swap_step(energy, temp_of, rep_at, betas, swap_keys, block, parity, n_acc, n_try):
    # pragma: no cover - compiled
    """Replica-exchange attempts for the pairs (k, k + 1), k = parity, parity + 2, ... of
    every copy c (rows of ``rep_at`` (C, K): replica at temperature k).  Accept with
    min(1, exp((beta_k - beta_{k+1}) (E_a - E_b))), a = rep_at[c, k], b = rep_at[c, k + 1];
    uniform number block * K + k of ``swap_keys[c]``.  Counts go to n_acc, n_try (K - 1,)."""
    nc, nk = rep_at.shape
    for c in range(nc):
        for k in range(parity, nk - 1, 2):
            a = rep_at[c, k]
            b = rep_at[c, k + 1]
            x = (betas[k] - betas[k + 1]) * (energy[a] - energy[b])
            n_try[k] += 1
            if x < 0.0:
                u = uniform(swap_keys[c], np.uint64(block) * np.uint64(nk) + np.uint64(k))
                if u >= math.exp(x):
                    continue
            rep_at[c, k] = b
            rep_at[c, k + 1] = a
            temp_of[a] = k + 1
            temp_of[b] = k
            n_acc[k] += 1


@njit(cache=True)
def _measure(kind, idx, spins, xs, energy, mag, rep_at, rec_e, rec_m, rec_q, rec_s):
    # pragma: no cover - compiled
    """Record energies, magnetisations (copy, temperature), overlaps of copies (2p, 2p + 1)
    and, if ``rec_s`` is not empty, the configurations, at measurement ``idx``."""
    nc, nk = rep_at.shape
    for c in range(nc):
        for k in range(nk):
            r = rep_at[c, k]
            rec_e[c, k, idx] = energy[r]
            rec_m[c, k, idx] = mag[r]
            if rec_s.shape[0] > 0:
                if kind <= SQUARE:
                    for i in range(rec_s.shape[3]):
                        rec_s[c, k, idx, i] = spins[r, i]
                else:
                    for i in range(rec_s.shape[3]):
                        rec_s[c, k, idx, i] = xs[r, i]
    for p in range(rec_q.shape[0]):
        for k in range(nk):
            a = rep_at[2 * p, k]
            b = rep_at[2 * p + 1, k]
            if kind <= SQUARE:
                n = spins.shape[1]
                qi = 0
                for i in range(n):
                    qi += spins[a, i] * spins[b, i]
                rec_q[p, k, idx] = qi / n
            else:
                n = xs.shape[1]
                qf = 0.0
                for i in range(n):
                    qf += xs[a, i] * xs[b, i]
                rec_q[p, k, idx] = qf / n


@njit(cache=True)
def _after_block(kind, b, block0, n_skip, swaps, spins, xs, energy, mag, temp_of, rep_at,
                 betas, steps, swap_keys, acc_blk, acc, sw_acc, sw_try, block_len, since,
                 rec_e, rec_m, rec_q, rec_s):  # pragma: no cover - compiled
    """Exchange step, burn-in step-size adaptation, acceptance bookkeeping, measurement.

    Sphere Metropolis, burn-in only: once ``since`` + block_len moves per replica reach
    SPHERE_ADAPT_MOVES, each temperature's step is multiplied by exp(2 (rate - target)), rate
    its acceptance over those moves.  Returns the moves counted towards the next adaptation."""
    nc, nk = rep_at.shape
    gb = block0 + b
    idx = b - n_skip
    since += block_len
    adapt = idx < 0 and kind == SPHERE_METROPOLIS
    if adapt and since >= SPHERE_ADAPT_MOVES:
        for k in range(nk):
            rate = 0.0
            for c in range(nc):
                rate += acc_blk[c, k]
            rate /= nc * since
            steps[k] *= math.exp(2.0 * (rate - SPHERE_TARGET_ACC))
        since = 0
    if idx >= 0:
        for c in range(nc):
            for k in range(nk):
                acc[c, k] += acc_blk[c, k]
    if not adapt or since == 0 or idx == -1:
        for c in range(nc):
            for k in range(nk):
                acc_blk[c, k] = 0
    if swaps:
        if idx >= 0:
            swap_step(energy, temp_of, rep_at, betas, swap_keys, gb, gb % 2, sw_acc, sw_try)
        else:  # burn-in exchanges are not counted
            t_acc = np.zeros(sw_acc.shape[0], dtype=np.int64)
            t_try = np.zeros(sw_acc.shape[0], dtype=np.int64)
            swap_step(energy, temp_of, rep_at, betas, swap_keys, gb, gb % 2, t_acc, t_try)
    if idx >= 0:
        _measure(kind, idx, spins, xs, energy, mag, rep_at, rec_e, rec_m, rec_q, rec_s)
    return since


@njit(cache=True)
def run_serial(kind, n_blocks, block_len, block0, n_skip, swaps, cmat, nb, order, jc, hc, flat,
               offs, ps, coefs, spins, lf, xs, energy, mag, temp_of, copy_of, rep_at, betas,
               steps, keys, swap_keys, table, work, acc_blk, acc, sw_acc, sw_try, track, min_e,
               best, rec_e, rec_m, rec_q, rec_s):  # pragma: no cover - compiled
    """Run ``n_blocks`` blocks of ``block_len`` sweeps of every replica, each followed by an
    exchange step (``swaps``) and, after the first ``n_skip`` blocks, a measurement.

    Global block index block0 + b numbers the random streams (continue a run with the next
    block0).  Arrays are updated in place; see the module docstring for their meaning."""
    n_rep = energy.shape[0]
    since = 0
    for b in range(n_blocks):
        sweep0 = (block0 + b) * block_len
        for r in range(n_rep):
            _replica_block(kind, r, block_len, sweep0, cmat, nb, order, jc, hc, flat, offs, ps,
                           coefs, spins, lf, xs, energy, mag, temp_of, copy_of, betas, steps,
                           keys, table, work, acc_blk, track, min_e, best)
        since = _after_block(kind, b, block0, n_skip, swaps, spins, xs, energy, mag, temp_of,
                             rep_at, betas, steps, swap_keys, acc_blk, acc, sw_acc, sw_try,
                             block_len, since, rec_e, rec_m, rec_q, rec_s)


@njit(cache=True, parallel=True)
def run_parallel(kind, n_blocks, block_len, block0, n_skip, swaps, cmat, nb, order, jc, hc,
                 flat, offs, ps, coefs, spins, lf, xs, energy, mag, temp_of, copy_of, rep_at,
                 betas, steps, keys, swap_keys, table, work, acc_blk, acc, sw_acc, sw_try, track,
                 min_e, best, rec_e, rec_m, rec_q, rec_s):  # pragma: no cover - compiled
    """:func:`run_serial` with the replicas of each block on Numba's thread pool (bitwise the
    same result)."""
    n_rep = energy.shape[0]
    since = 0
    for b in range(n_blocks):
        sweep0 = (block0 + b) * block_len
        for r in prange(n_rep):
            _replica_block(kind, r, block_len, sweep0, cmat, nb, order, jc, hc, flat, offs, ps,
                           coefs, spins, lf, xs, energy, mag, temp_of, copy_of, betas, steps,
                           keys, table, work, acc_blk, track, min_e, best)
        since = _after_block(kind, b, block0, n_skip, swaps, spins, xs, energy, mag, temp_of,
                             rep_at, betas, steps, swap_keys, acc_blk, acc, sw_acc, sw_try,
                             block_len, since, rec_e, rec_m, rec_q, rec_s)
