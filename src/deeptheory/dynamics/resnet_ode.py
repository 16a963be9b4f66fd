"""Residual networks as ODE discretisations, and gradients of neural ODEs.

A depth-L residual network with blocks x_{l+1} = x_l + h f(x_l, t_l), h = T / L,
t_l = l h, is the forward Euler discretisation of z' = f(z, t) on [0, T] (E 2017;
Haber & Ruthotto 2017); a classical Runge-Kutta block gives an RK4 network.  With weights
theta(t_l) sampled from a smooth theta(t), the network output converges to the ODE flow
z(T) with global error O(h) (Euler) or O(h^4) (RK4) (Hairer, Norsett & Wanner 1993,
sec. II.3): :func:`resnet_flow`, :func:`resnet_ode_error`.

Gradients of L = sum_i g(z_i(T)) with respect to x0 and the weights of an
:class:`~deeptheory.dynamics.odeflow.MLPField` f(z, t) = W2(t) phi(W1(t) z + b1(t)) + b2(t):

* :func:`adjoint_gradients`: the adjoint method of Chen et al. 2018 (Algorithm 1 and
  appendix B): a(t) = dL/dz(t) solves a' = -(df/dz)^T a backward from a(T) = dL/dz(T),
  dL/dtheta = integral_0^T a^T df/dtheta dt, with the state re-integrated backward
  together with a and the gradient accumulators (memory independent of the step count);
* :func:`backprop_gradients`: reverse-mode differentiation through the fixed-step
  Euler / RK4 solver (the exact gradient of the discrete network; memory O(steps)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.integrate import DOP853, RK45

from .._api import Result
from .._validation import as_float, as_int
from .odeflow import MLPField, check_points, odeint_batch

__all__ = [
    "FieldGradients",
    "ResNetOdeError",
    "adjoint_gradients",
    "backprop_gradients",
    "resnet_flow",
    "resnet_ode_error",
]

BLOCKS = ("euler", "rk4")
#: scipy methods accepted by :func:`adjoint_gradients`
ADJOINT_METHODS = ("DOP853", "RK45")
_SOLVERS = {"DOP853": DOP853, "RK45": RK45}


# ----------------------------------------------------------------------------- checks


def _check_field(field: Any) -> MLPField:
    if not isinstance(field, MLPField):
        raise TypeError(f"field must be an MLPField, got {type(field).__name__}")
    return field


def _check_block(block: Any) -> str:
    if block not in BLOCKS:
        raise ValueError(f"block must be one of {BLOCKS}, got {block!r}")
    return str(block)


def _check_t_end(t_end: Any) -> float:
    t = float(as_float("t_end", t_end))
    if t <= 0.0:
        raise ValueError(f"t_end must be > 0, got {t}")
    return t


def _loss_grad(
    dLdz_T: Callable[[np.ndarray], Any] | None, target: Any, z_end: np.ndarray,
) -> tuple[np.ndarray, float]:
    """a(T) = dL/dz(T) (n, d) and the loss (nan for a user gradient)."""
    if dLdz_T is None:
        tg = np.zeros_like(z_end) if target is None else as_float("target", target)
        try:
            tg = np.broadcast_to(tg, z_end.shape)
        except ValueError:
            raise ValueError(
                f"target must broadcast to the states' shape {z_end.shape}, got {np.shape(target)}"
            ) from None
        r = z_end - tg
        return r, 0.5 * float(np.sum(r * r))
    if target is not None:
        raise ValueError("target applies to the default loss; pass dLdz_T or target, not both")
    if not callable(dLdz_T):
        raise TypeError(f"dLdz_T must be callable (z(T) -> dL/dz(T)) or None, got {dLdz_T!r}")
    g = as_float("dLdz_T", dLdz_T(z_end.copy()))
    if g.shape != z_end.shape:
        raise ValueError(f"dLdz_T must return an array of shape {z_end.shape}, got {g.shape}")
    return g, float("nan")


# ----------------------------------------------------------------------------- ResNet = ODE


def resnet_flow(field: MLPField, x0: Any, depth: int, t_end: float,
                block: str = "euler") -> np.ndarray:
    """Every layer output of the depth-L residual network that discretises z' = f(z, t)
    on [0, T] (E 2017; Haber & Ruthotto 2017): with h = T / L and t_l = l h,

        Euler block:  x_{l+1} = x_l + h f(x_l, t_l),
        RK4 block:    x_{l+1} = x_l + (h/6)(k1 + 2 k2 + 2 k3 + k4), k1 = f(x_l, t_l),
                      k2 = f(x_l + h k1 / 2, t_l + h/2), k3 = f(x_l + h k2 / 2, t_l + h/2),
                      k4 = f(x_l + h k3, t_{l+1}),

    where layer l uses the weights theta(t_l) (and the stage times) of the field's
    piecewise-linear theta(t).  This *is* :func:`~deeptheory.dynamics.odeflow.odeint_batch`
    with ``method=block`` and ``n_steps=depth``; it is called here.

    x0 : (n, d) inputs (or (d,)).  Returns (depth + 1, n, d) (or (depth + 1, d)): x_0 ... x_L.
    """
    f = _check_field(field)
    blk = _check_block(block)
    L = as_int("depth", depth, lo=1)
    T = _check_t_end(t_end)
    x, single = check_points(f, x0)
    sol = odeint_batch(f, x, np.linspace(0.0, T, L + 1), method=blk, n_steps=L)
    return sol.states[:, 0, :] if single else sol.states


@dataclass(frozen=True)
class ResNetOdeError(Result):
    """Global error of residual networks against the ODE flow (:func:`resnet_ode_error`).

    depths : (m,) network depths L.  steps : (m,) h = T / L.
    errors : (m,) max_i |x_L(i) - z_i(T)| (Euclidean norm per point).
    order : slope of log error against log h (least squares over every depth): about 1
        for Euler blocks, 4 for RK4 blocks (Hairer, Norsett & Wanner 1993, sec. II.3);
        coarse depths outside the asymptotic regime pull it away (e.g. 1.10 and 4.48).
    order_finest : the slope between the two finest depths (the asymptotic order).
    block : "euler" or "rk4".  reference : (n, d) z(T) from DOPRI5 at rtol ``ref_rtol``.
    """

    depths: np.ndarray
    steps: np.ndarray
    errors: np.ndarray
    order: float
    block: str
    reference: np.ndarray
    order_finest: float = float("nan")


def resnet_ode_error(
    field: MLPField, x0: Any, depths: Any, t_end: float, block: str = "euler", *,
    ref_rtol: float = 1e-12, ref_atol: float = 1e-14,
) -> ResNetOdeError:
    """Global error of the depth-L network :func:`resnet_flow` against the ODE flow z(T),
    per depth, and the fitted order p in error ~ C h^p (E 2017; Haber & Ruthotto 2017;
    Hairer, Norsett & Wanner 1993, sec. II.3: p = 1 for Euler, 4 for RK4).

    The reference z(T) is adaptive Dormand-Prince 5(4) at ``ref_rtol``.  The orders hold
    only when f is smooth in t between steps: the field's weights are piecewise linear
    in t with kinks at the nodes, so every node inside (0, T) must lie on every step grid
    (e.g. nodes at 0 and T only, or depths that are multiples of the number of
    intervals); a node strictly inside a step is a ValueError.
    """
    f = _check_field(field)
    blk = _check_block(block)
    T = _check_t_end(t_end)
    x, _ = check_points(f, x0)
    ds = np.asarray(depths)
    if ds.ndim != 1 or ds.size < 2:
        raise ValueError(f"depths must be a 1-D sequence of at least 2 depths, got {depths!r}")
    dl = [as_int("depths", v, lo=1) for v in ds.tolist()]
    if len(set(dl)) != len(dl):
        raise ValueError(f"depths must be distinct, got {dl}")
    tn = f.times
    inner = tn[(tn > 0.0) & (tn < T)]
    for L in dl:
        pos = inner / (T / L)
        if np.any(np.abs(pos - np.rint(pos)) > 1e-9 * L):
            raise ValueError(
                f"depths: weight nodes {inner.tolist()} are not all on the grid of depth {L} "
                f"(step {T / L}); the fixed-step blocks lose their order at a kink of theta(t)"
            )
    ref = odeint_batch(f, x, [0.0, T], rtol=ref_rtol, atol=ref_atol).states[-1]
    errs = np.empty(len(dl))
    for j, L in enumerate(dl):
        xl = resnet_flow(f, x, L, T, blk)[-1]
        errs[j] = float(np.max(np.linalg.norm(xl - ref, axis=1)))
    hs = T / np.asarray(dl, dtype=float)
    ok = errs > 0
    order = float(np.polyfit(np.log(hs[ok]), np.log(errs[ok]), 1)[0]) if ok.sum() >= 2 else np.nan
    fine = np.argsort(hs)[:2]
    if np.all(errs[fine] > 0):
        order_fine = float(np.diff(np.log(errs[fine]))[0] / np.diff(np.log(hs[fine]))[0])
    else:
        order_fine = float("nan")
    return ResNetOdeError(depths=np.asarray(dl), steps=hs, errors=errs, order=order, block=blk,
                          reference=ref, order_finest=order_fine)


# ----------------------------------------------------------------------------- gradients


@dataclass(frozen=True)
class FieldGradients(Result):
    """Gradients of L = sum_i g(z_i(T)) for an :class:`~deeptheory.dynamics.odeflow.MLPField`
    (:func:`adjoint_gradients`, :func:`backprop_gradients`).

    dx0 : (n, d) dL/dx0 (or (d,) for a single point).  dw1 : (K+1, H, d), db1 : (K+1, H),
    dw2 : (K+1, d, H), db2 : (K+1, d): dL/d(weights at each node) (linear interpolation in t
    gives node k the share (1 - s) and node k+1 the share s of the gradient at time t).
    z_end : (n, d) z(T) (or the network output).  loss : L for the default loss
    0.5 sum_i |z_i(T) - target_i|^2 (nan when dLdz_T was given).
    method : the integrator.  n_steps : steps taken (the backward solve for the adjoint).
    """

    dx0: np.ndarray
    dw1: np.ndarray
    db1: np.ndarray
    dw2: np.ndarray
    db2: np.ndarray
    z_end: np.ndarray
    loss: float
    method: str
    n_steps: int


def _node_shares(tn: np.ndarray, t: float) -> tuple[int, float, int, float]:
    """(k, 1 - s, k + 1, s): the interpolation shares of the nodes at time t (clamped)."""
    if tn.size == 1 or t <= tn[0]:
        return 0, 1.0, 0, 0.0
    if t >= tn[-1]:
        k = tn.size - 1
        return k, 1.0, k, 0.0
    k = int(np.searchsorted(tn, t, side="right")) - 1
    s = (t - tn[k]) / (tn[k + 1] - tn[k])
    return k, 1.0 - s, k + 1, s


def _vjp(field: MLPField, w: tuple[np.ndarray, ...], z: np.ndarray, a: np.ndarray,
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """a^T df/dz (n, d) and a^T df/d(W1, b1, W2, b2) summed over points, at weights w."""
    w1, b1, w2, _ = w
    u = z @ w1.T + b1
    act = field.activation
    v = act(u, 1) * (a @ w2)  # (n, H)
    return v @ w1, v.T @ z, v.sum(axis=0), a.T @ act(u), a.sum(axis=0)


def _rhs(field: MLPField, w: tuple[np.ndarray, ...], z: np.ndarray) -> np.ndarray:
    w1, b1, w2, b2 = w
    return field.activation(z @ w1.T + b1) @ w2.T + b2


def _zeros_like_weights(f: MLPField) -> list[np.ndarray]:
    return [np.zeros_like(f.w1), np.zeros_like(f.b1), np.zeros_like(f.w2), np.zeros_like(f.b2)]


def _pack(res: list[np.ndarray], dx0: np.ndarray, z_end: np.ndarray, single: bool, loss: float,
          method: str, n_steps: int) -> FieldGradients:
    return FieldGradients(dx0=dx0[0] if single else dx0, dw1=res[0], db1=res[1], dw2=res[2],
                          db2=res[3], z_end=z_end[0] if single else z_end, loss=loss,
                          method=method, n_steps=int(n_steps))


def adjoint_gradients(
    field: MLPField, x0: Any, t_end: float,
    dLdz_T: Callable[[np.ndarray], Any] | None = None, *, target: Any = None,
    rtol: float = 1e-10, atol: float = 1e-12, method: str = "DOP853",
) -> FieldGradients:
    """Gradients of L = sum_i g(z_i(T)), z' = f(z, t) on [0, T], by the adjoint method of
    Chen et al. 2018 (Algorithm 1; appendix B; Pontryagin's adjoint):

        a(t) = dL/dz(t),   a' = -(df/dz)^T a,   a(T) = dL/dz(T),
        dL/dtheta = integral_0^T a(t)^T df/dtheta(z(t), t) dt,   dL/dx0 = a(0).

    For f = W2 phi(W1 z + b1) + b2, with u = W1 z + b1 and v = phi'(u) * (W2^T a):
    (df/dz)^T a = W1^T v, and the integrands are a phi(u)^T (W2), a (b2), v z^T (W1), v (b1),
    summed over the points.  With theta(t) = (1 - s) theta_k + s theta_{k+1} on
    [t_k, t_{k+1}], node k gets integral (1 - s) a^T df/dtheta and node k+1 gets
    integral s a^T df/dtheta (clamped weights outside the nodes go to the end node).

    The forward solve keeps only z(T) (:func:`~deeptheory.dynamics.odeflow.odeint_batch`,
    DOPRI5 at rtol/atol).  The backward solve integrates the augmented state (z, a, the
    two nodes' accumulators) from T to 0 one weight interval at a time with
    scipy's ``DOP853`` or ``RK45`` stepper (``method``; one batch-wide adaptive step,
    only the current state kept): memory is independent of the number of steps.  Caveat
    (Gholami et al. 2019, Zhuang et al. 2020): the state is recomputed by integrating
    backward from the numerical z(T), which reproduces the forward trajectory only up to
    the solver error amplified by the backward flow (exp of the contraction rates of the
    forward flow); for stiff or strongly contracting fields the gradient can be
    inaccurate even at tight tolerances, while :func:`backprop_gradients` stays exact
    for its discretisation.

    dLdz_T : callable z(T) (n, d) -> dL/dz(T) (n, d); None uses the default loss
    0.5 sum_i |z_i(T) - target_i|^2 (target : (n, d) or broadcastable, default 0),
    whose gradient is z(T) - target.
    """
    f = _check_field(field)
    T = _check_t_end(t_end)
    x, single = check_points(f, x0)
    if method not in ADJOINT_METHODS:
        raise ValueError(f"method must be one of {ADJOINT_METHODS}, got {method!r}")
    rt = float(as_float("rtol", rtol))
    if rt <= 0.0:
        raise ValueError(f"rtol must be > 0, got {rt}")
    at = float(as_float("atol", atol, lo=0.0))
    n, d = x.shape
    hdim = f.hidden
    z_end = odeint_batch(f, x, [0.0, T], rtol=max(rt, 1e-13), atol=at).states[-1]
    a_end, loss = _loss_grad(dLdz_T, target, z_end)

    tn = f.times
    cuts = np.unique(np.concatenate([[0.0, T], tn[(tn > 0.0) & (tn < T)]]))[::-1]
    sizes = [n * d, n * d, hdim * d, hdim, d * hdim, d]
    offs = np.cumsum([0, *sizes])
    nz = 2 * n * d
    npar = int(offs[-1]) - nz

    out = _zeros_like_weights(f)
    z, a = z_end.copy(), a_end.copy()
    nsteps = 0
    for t_hi, t_lo in zip(cuts[:-1], cuts[1:], strict=True):
        tm = 0.5 * (t_hi + t_lo)
        ka, _, kb, _ = _node_shares(tn, tm)
        # on this piece theta(t) = ra(t) theta_ka + rb(t) theta_kb, ra + rb = 1
        if ka == kb:
            def shares(t: float) -> tuple[float, float]:
                return 1.0, 0.0
        else:
            ta, tb = tn[ka], tn[kb]

            def shares(t: float, ta: float = ta, tb: float = tb) -> tuple[float, float]:
                s = (t - ta) / (tb - ta)
                return 1.0 - s, s

        def rhs(t: float, y: np.ndarray) -> np.ndarray:
            zz = y[:n * d].reshape(n, d)
            aa = y[n * d:nz].reshape(n, d)
            w = f.weights_at(t)
            ra, rb = shares(t)
            adz, g1, gb1, g2, gb2 = _vjp(f, w, zz, aa)
            gp = np.concatenate([g1.ravel(), gb1, g2.ravel(), gb2])
            # dtheta_acc/dt = -a^T df/dtheta, integrated from T down to 0
            return np.concatenate([_rhs(f, w, zz).ravel(), -adz.ravel(), -ra * gp, -rb * gp])

        y0 = np.concatenate([z.ravel(), a.ravel(), np.zeros(2 * npar)])
        solver = _SOLVERS[method](rhs, t_hi, y0, t_lo, rtol=rt, atol=at)
        while solver.status == "running":
            msg = solver.step()
            nsteps += 1
            if solver.status == "failed":
                raise RuntimeError(f"adjoint_gradients: backward solve failed ({msg})")
        y = solver.y
        z = y[:n * d].reshape(n, d).copy()
        a = y[n * d:nz].reshape(n, d).copy()
        for k, p in ((ka, y[nz:nz + npar]), (kb, y[nz + npar:])):
            for j, arr in enumerate(out):
                arr[k] += p[int(offs[2 + j] - nz):int(offs[3 + j] - nz)].reshape(arr.shape[1:])
    return _pack(out, a, z_end, single, loss, method, nsteps)


def backprop_gradients(
    field: MLPField, x0: Any, t_end: float, n_steps: int,
    dLdz_T: Callable[[np.ndarray], Any] | None = None, *, target: Any = None,
    block: str = "rk4",
) -> FieldGradients:
    """Exact reverse-mode gradients of L = sum_i g(x_L(i)) through the fixed-step network
    :func:`resnet_flow` (Euler or RK4 blocks, h = T / n_steps; Chen et al. 2018 call this
    backpropagating through the solver).  The forward pass stores x_0 ... x_L (memory
    O(steps)); the backward pass recomputes the RK4 stages of each step and applies
    their vector-Jacobian products in reverse:

        RK4: with abar = dL/dx_{l+1}, kbar_1 = kbar_4 = h abar / 6, kbar_2 = kbar_3 = h abar / 3;
        zbar_4 = J4^T kbar_4, kbar_3 += h zbar_4; zbar_3 = J3^T kbar_3, kbar_2 += h zbar_3 / 2;
        zbar_2 = J2^T kbar_2, kbar_1 += h zbar_2 / 2; dL/dx_l = abar + zbar_4 + zbar_3 + zbar_2
        + J1^T kbar_1 (J_s = df/dz at stage s), and every stage adds kbar_s^T df/dtheta to
        the weight gradients at its time.

    As n_steps grows this converges to the adjoint gradient (:func:`adjoint_gradients`)
    at the solver's order.  Arguments as in :func:`adjoint_gradients`.
    """
    f = _check_field(field)
    blk = _check_block(block)
    T = _check_t_end(t_end)
    ns = as_int("n_steps", n_steps, lo=1)
    x, single = check_points(f, x0)
    h = T / ns
    tn = f.times
    wcache: dict[float, tuple[np.ndarray, ...]] = {}

    def wts(t: float) -> tuple[np.ndarray, ...]:
        if t not in wcache:
            wcache[t] = f.weights_at(t)
        return wcache[t]

    def stages(z: np.ndarray, step: int) -> list[tuple[np.ndarray, float]]:
        """(stage input, stage time) of one step."""
        t = step * h
        if blk == "euler":
            return [(z, t)]
        h2 = 0.5 * h
        th = t + h2
        k1 = _rhs(f, wts(t), z)
        z2 = z + h2 * k1
        k2 = _rhs(f, wts(th), z2)
        z3 = z + h2 * k2
        k3 = _rhs(f, wts(th), z3)
        z4 = z + h * k3
        return [(z, t), (z2, th), (z3, th), (z4, (step + 1) * h)]

    traj = [x]
    z = x
    for step in range(ns):
        st = stages(z, step)
        if blk == "euler":
            z = z + h * _rhs(f, wts(st[0][1]), z)
        else:
            ks = [_rhs(f, wts(tt), zz) for zz, tt in st]
            z = z + (h / 6.0) * (ks[0] + 2.0 * (ks[1] + ks[2]) + ks[3])
        if not np.all(np.isfinite(z)):
            raise ValueError("backprop_gradients: the forward states became non-finite")
        traj.append(z)
    z_end = traj[-1]
    abar, loss = _loss_grad(dLdz_T, target, z_end)
    out = _zeros_like_weights(f)

    def add(t: float, g: tuple[np.ndarray, ...]) -> None:
        ka, ra, kb, rb = _node_shares(tn, t)
        for arr, gi in zip(out, g, strict=True):
            arr[ka] += ra * gi
            if rb != 0.0:
                arr[kb] += rb * gi

    for step in range(ns - 1, -1, -1):
        st = stages(traj[step], step)
        if blk == "euler":
            (zz, tt), = st
            adz, *g = _vjp(f, wts(tt), zz, h * abar)
            add(tt, (g[0], g[1], g[2], g[3]))
            abar = abar + adz
            continue
        kb = [h / 6.0 * abar, h / 3.0 * abar, h / 3.0 * abar, h / 6.0 * abar]
        new = abar.copy()
        for s_, c in ((3, h), (2, 0.5 * h), (1, 0.5 * h)):
            zz, tt = st[s_]
            adz, *g = _vjp(f, wts(tt), zz, kb[s_])
            add(tt, (g[0], g[1], g[2], g[3]))
            new += adz
            kb[s_ - 1] = kb[s_ - 1] + c * adz
        zz, tt = st[0]
        adz, *g = _vjp(f, wts(tt), zz, kb[0])
        add(tt, (g[0], g[1], g[2], g[3]))
        abar = new + adz
    return _pack(out, abar, z_end, single, loss, blk, ns)
