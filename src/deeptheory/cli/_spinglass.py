"""``deeptheory complexity`` and ``gibbs``: the spin-glass subcommands
(:mod:`deeptheory.spinglass`), with their limits, checks and run-time estimates."""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

from .. import cli as _cli  # the public limits and costs, read at call time
from ._common import _check_out, _duration, _fmt, _guard, _number, _Progress, _UsageError

#: ``gibbs`` limits: SK couplings are dense (N^2 doubles), lattices up to 1024 x 1024
GIBBS_MAX_SK_N = 4096
GIBBS_MAX_SPINS = 1_048_576
GIBBS_MAX_L = 1024
GIBBS_MAX_TEMPS = 128
#: ``gibbs`` default size and temperature range per model
GIBBS_DEFAULTS = {"sk": (128, 0.5, 1.6), "ising2d": (32, 1.5, 3.5), "ising1d": (64, 0.5, 3.0)}
#: ``gibbs`` warns when Monte Carlo and an exact value differ by more standard errors
GIBBS_Z_WARN = 5.0
#: smallest and largest temperature ``gibbs`` accepts
GIBBS_T_RANGE = (0.01, 1000.0)


def _temperature(text: str) -> float:
    """A temperature in GIBBS_T_RANGE."""
    v = _number(text)
    lo, hi = GIBBS_T_RANGE
    if not lo <= v <= hi:
        raise argparse.ArgumentTypeError(f"must be a temperature in [{lo:g}, {hi:g}], got "
                                         f"{text}")
    return v


def _check_complexity(args: argparse.Namespace) -> float:
    _check_out(args.out)
    from ..spinglass import MAX_PLOT_INDICES

    if args.max_index + 1 > MAX_PLOT_INDICES:
        raise _UsageError(f"--max-index must be at most {MAX_PLOT_INDICES - 1} (one curve per "
                          f"index k = 0..K; the figure takes at most {MAX_PLOT_INDICES}), "
                          f"got {args.max_index}")
    est = _cli.COSTS["complexity_fixed"] + _cli.COSTS["complexity_index"] * (args.max_index + 1)
    _guard(args, est, f"complexity --max-index {args.max_index}", "use a smaller --max-index")
    return est


def _cmd_complexity(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .. import spinglass as sg

    out = args.out
    p = args.p
    ks = list(range(args.max_index + 1))
    prog = _Progress("complexity", 3, "stages", estimate > _cli.PROGRESS_SECONDS)
    prog.note(f"estimated {_duration(estimate)} of CPU time for {len(ks)} index curves")
    levels = [float(sg.e_k(p, k)) for k in ks]
    prog.update(1, "levels E_k")
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    try:
        sg.plot_complexity(p, ks=ks, ax=ax)
        prog.update(2, "curves")
        fig.tight_layout()
        fig.savefig(out, dpi=100)
        prog.update(3, "figure written")
    finally:
        plt.close(fig)
    print(f"spherical {p}-spin (E[H(s)H(s')] = N (s.s'/N)^{p}, u = H/N):")
    print(f"  E_inf = {_fmt(sg.e_inf(p))}   (total complexity Theta_p(0) = 1/2 ln(p - 1) = "
          f"{_fmt(sg.theta(0.0, p))})")
    for k, e in zip(ks, levels, strict=True):
        print(f"  E_{k} = {_fmt(e)}" + ("   (ground state)" if k == 0 else ""))
    print(f"  wrote {out}")
    return 0


def _gibbs_setup(args: argparse.Namespace) -> None:
    """Fill in the per-model defaults of ``gibbs`` (size, temperatures) and check them."""
    size, t_lo, t_hi = GIBBS_DEFAULTS[args.model]
    if args.model == "ising2d":
        if args.n is not None:
            raise _UsageError("--n: ising2d takes --l (the side L of the L x L lattice), "
                              "not --n")
        args.l = size if args.l is None else args.l
        if args.l > GIBBS_MAX_L:
            raise _UsageError(f"--l must be at most {GIBBS_MAX_L} ({GIBBS_MAX_L}^2 spins), "
                              f"got {args.l}")
        args.spins = args.l * args.l
    else:
        if args.l is not None:
            raise _UsageError(f"--l is the side of the ising2d lattice; {args.model} takes "
                              "--n (the number of spins)")
        args.n = size if args.n is None else args.n
        top = GIBBS_MAX_SK_N if args.model == "sk" else GIBBS_MAX_SPINS
        if args.n > top:
            why = " (dense couplings, N^2 numbers)" if args.model == "sk" else ""
            raise _UsageError(f"--n must be at most {top} for {args.model}{why}, got "
                              f"{args.n}")
        args.spins = args.n
    args.t_min = t_lo if args.t_min is None else args.t_min
    args.t_max = t_hi if args.t_max is None else args.t_max
    if args.temps > 1 and not args.t_min < args.t_max:
        raise _UsageError(f"--t-min ({args.t_min:g}) must be below --t-max ({args.t_max:g})")
    if args.method == "pt" and args.temps < 2:
        raise _UsageError("--temps must be at least 2 for parallel tempering (--method pt); "
                          "use --method metropolis for one temperature")
    if args.model == "sk" and args.copies < 2:
        raise _UsageError("--copies must be at least 2 for sk (the overlap q pairs two "
                          "copies)")


def _gibbs_betas(t_min: float, t_max: float, k: int) -> Any:
    """The ``gibbs`` ladder: K inverse temperatures geometric between 1/t_max and 1/t_min,
    ascending (one temperature: 1/t_min)."""
    import numpy as np

    if k == 1:
        return np.array([1.0 / t_min])
    return np.geomspace(1.0 / t_max, 1.0 / t_min, k)


def _gibbs_seeds(seed: int) -> tuple[Any, int]:
    """Independent streams for the couplings (a Generator) and the Monte Carlo (an int)."""
    import numpy as np

    model, mc = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(model), int(mc.generate_state(1, dtype=np.uint64)[0] >> 1)


def _gibbs_cost(args: argparse.Namespace) -> tuple[float, float]:
    """(estimated seconds, spin-update operations as the library counts them) of ``gibbs``."""
    n = args.spins
    sweeps = args.sweeps + args.sweeps // 4
    updates = float(args.copies) * args.temps * sweeps * n
    if args.model == "sk":
        ops = updates * (1.0 + n / 20.0)
        est = _cli.COSTS["gibbs_sk_op"] * ops
        betas = _gibbs_betas(args.t_min, args.t_max, args.temps)
        below = int((betas > 1.0).sum())
        est += _cli.COSTS["gibbs_parisi_step"] * below * args.k_rsb
    else:
        ops = updates
        est = _cli.COSTS["gibbs_ising_update"] * updates
    return _cli.COSTS["gibbs_fixed"] + est, ops


def _check_gibbs(args: argparse.Namespace) -> float:
    _check_out(args.out)
    _gibbs_setup(args)
    from ..spinglass.montecarlo import MAX_MC_SWEEP_WORK, MAX_RECORD_BYTES

    rec = 8.0 * args.sweeps * args.temps * (2 * args.copies + args.copies // 2)
    if rec > MAX_RECORD_BYTES:
        raise _UsageError(f"--sweeps x --temps x --copies: the recorded series would take "
                          f"{rec / 2**20:.0f} MiB, above the library's "
                          f"{MAX_RECORD_BYTES / 2**20:.0f} MiB; lower --sweeps, --temps or "
                          "--copies")
    est, ops = _gibbs_cost(args)
    size = f"L = {args.l}" if args.model == "ising2d" else f"N = {args.n}"
    _guard(args, est, f"gibbs ({args.model}, {size}, {args.temps} temperatures x "
           f"{args.copies} copies, {args.sweeps} sweeps)",
           "use fewer --sweeps, --temps or --copies, or a smaller system")
    if ops > MAX_MC_SWEEP_WORK:  # reached only with --force
        raise _UsageError(f"this run needs about {ops:.2e} spin-update operations, above the "
                          f"library's limit {MAX_MC_SWEEP_WORK:.0e} (about an hour); lower "
                          "--sweeps, --temps or --copies")
    return est


def _col(v: float, width: int = 10, prec: int = 6) -> str:
    """A table cell: fixed-point, or '-' for nan."""
    v = float(v)
    return f"{'-':>{width}s}" if math.isnan(v) else f"{v:{width}.{prec}f}"


def _cmd_gibbs(args: argparse.Namespace, estimate: float = 0.0) -> int:
    import numpy as np

    from .. import spinglass as sg
    from ..spinglass import plotting as sgp

    model_rng, mc_seed = _gibbs_seeds(args.seed)
    betas = _gibbs_betas(args.t_min, args.t_max, args.temps)
    temps = 1.0 / betas
    k, c, n = args.temps, args.copies, args.spins
    if args.model == "sk":
        model = sg.sk_model(n, seed=model_rng)
        size = f"N = {n}"
    elif args.model == "ising2d":
        model = sg.IsingLattice(args.l, 2)
        size = f"L = {args.l} ({n} spins)"
    else:
        model = sg.IsingLattice(n, 1)
        size = f"N = {n} (ring)"
    prog = _Progress("gibbs", 3, "stages", estimate > _cli.PROGRESS_SECONDS)
    prog.note(f"estimated {_duration(estimate)} of CPU time: {k} temperatures x {c} copies x "
              f"{args.sweeps} sweeps of {n} spins")
    t0 = time.perf_counter()
    if args.method == "pt":
        res = sg.parallel_tempering(model, betas, args.sweeps, n_copies=c, seed=mc_seed,
                                    max_work=math.inf, progress=estimate > _cli.PROGRESS_SECONDS)
    else:
        res = sg.metropolis(model, betas, args.sweeps, c, seed=mc_seed, max_work=math.inf,
                            progress=estimate > _cli.PROGRESS_SECONDS)
    t_mc = time.perf_counter() - t0
    prog.update(1, "Monte Carlo")

    e, ch = res.energy, res.specific_heat
    nan = np.full(k, np.nan)
    if args.model == "ising2d":
        kf = sg.ising_2d_finite(betas, args.l)
        third, third_name = res.magnetisation, "<|m|>"
        exact = (kf.energy, kf.specific_heat, np.asarray(sg.yang_magnetisation(betas)))
        heads = ("Kaufman", "Kaufman", "Yang(inf)")
    elif args.model == "ising1d":
        ex = sg.ising_1d(betas, L=n)
        third, third_name = res.m2, "<m^2>"
        exact = (ex.energy, ex.specific_heat, np.asarray(ex.susceptibility) / (betas * n))
        heads = ("exact", "exact", "exact")
    else:
        th = sgp.sk_theory_curves(temps, args.k_rsb)
        third, third_name = res.q2, "<q^2>"
        above = temps >= 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            q2_hi = np.where(betas < 1.0, 1.0 / (n * (1.0 - betas**2)), np.nan)
        exact = (np.where(above, th.u_para, th.u_k), np.where(above, betas**2 / 2.0, nan),
                 np.where(above, q2_hi, th.q2_k))
        heads = ("theory", "theory", "theory")
    prog.update(2, "theory")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    try:
        if args.model == "sk":
            lab = f"Monte Carlo, N = {n}"
            if k >= 2:
                sgp.plot_sk_thermodynamics("energy", temps, args.k_rsb, ax=axes[0],
                                           mc={lab: (temps, e.value, e.stderr)})
                sgp.plot_sk_thermodynamics("q2", temps, args.k_rsb, ax=axes[1],
                                           mc={lab: (temps, third.value, third.stderr)})
                axes[1].plot(temps[betas < 1], q2_hi[betas < 1], ":", color="C1",
                             label="1 / (N (1 - beta^2))")
                top = np.nanmax(np.concatenate([third.value + third.stderr, th.q2_k]))
                axes[1].set_ylim(0.0, 1.3 * top)  # the high-T form diverges at T_c
                axes[1].legend(fontsize=6.5)
            else:
                for ax, est, nm in ((axes[0], e, "energy per spin"),
                                    (axes[1], third, "<q^2>")):
                    ax.errorbar(temps, est.value, yerr=est.stderr, fmt="o")
                    ax.set_xlabel("temperature T")
                    ax.set_ylabel(nm)
            sgp.plot_overlap_distribution(res, k_rsb=args.k_rsb, ax=axes[2], label=lab)
        else:
            sgp.plot_ising_mc({args.l if args.model == "ising2d" else n: res},
                              dim=2 if args.model == "ising2d" else 1, axes=axes)
        fig.tight_layout()
        fig.savefig(args.out, dpi=args.dpi)
    finally:
        plt.close(fig)
    prog.update(3, "figure")

    meth = "parallel tempering" if args.method == "pt" else "Metropolis (independent chains)"
    print(f"gibbs: model={args.model}  {size}  method={args.method}  temperatures={k} in "
          f"[{_fmt(temps.min())}, {_fmt(temps.max())}]  sweeps={args.sweeps}  copies={c}  "
          f"seed={args.seed}")
    print(f"  {meth}: {c} x {k} replicas, {args.sweeps} sweeps after {res.burn_in} of "
          f"burn-in, in {t_mc:.1f} s; +- is the blocking standard error, tau_int in sweeps, "
          "swap the exchange rate with the next lower temperature")
    if args.model == "ising2d":
        print("  exact: Kaufman's finite L x L torus (energy, specific heat); Yang's "
              "spontaneous <|m|> of the infinite lattice (a finite lattice has <|m|> ~ "
              "L^-1/8 at T_c and ~ 1/L above it)")
    elif args.model == "ising1d":
        print("  exact: transfer matrix of the ring of N spins (<m^2> = chi / (beta N))")
    else:
        print(f"  theory (N = inf): above T_c = 1 the paramagnet (u = -beta/2, c = beta^2/2) "
              f"and <q^2> = 1 / (N (1 - beta^2)); below, the {args.k_rsb}-step Parisi "
              "solution; f_theory likewise, f_RS the replica-symmetric free energy")
        print("  one sample of the couplings at finite N: below T_c its energy and <q^2> "
              "differ from the N = inf theory by finite-size and sample-to-sample terms (a "
              "few hundredths in the energy at N ~ 100, more in <q^2>)")
    swaps = res.swap_rates
    cols = ["T", "energy", "+-", heads[0], "spec.heat", "+-", heads[1], third_name, "+-",
            heads[2]]
    if args.model == "sk":
        cols += ["f_theory", "f_RS"]
    cols += ["tau_int", "swap"]
    print("  " + " ".join(f"{h:>10s}" for h in cols))
    for i in range(k - 1, -1, -1):  # ascending temperature
        row = [temps[i], e.value[i], e.stderr[i], exact[0][i], ch.value[i], ch.stderr[i],
               exact[1][i], third.value[i], third.stderr[i], exact[2][i]]
        if args.model == "sk":
            row += [th.f_para[i] if temps[i] >= 1.0 else th.f_k[i], th.f_rs[i]]
        cells = [_col(v) for v in row]
        cells.append(f"{res.tau_int[i]:10.2f}")
        # the swap rate of the pair (this temperature, the next lower one)
        cells.append(_col(swaps[i], prec=4) if swaps is not None and i < k - 1 else
                     f"{'-':>10s}")
        print("  " + " ".join(cells))
    with np.errstate(divide="ignore", invalid="ignore"):
        z_e = np.abs(e.value - exact[0]) / e.stderr
        z_c = np.abs(ch.value - exact[1]) / ch.stderr
    if args.model != "sk":
        z_max = max(np.nanmax(z_e), np.nanmax(z_c))
        print(f"  max_z_energy = {np.nanmax(z_e):.3g}  (largest |MC - exact| / standard "
              "error over the temperatures)")
        print(f"  max_z_specific_heat = {np.nanmax(z_c):.3g}")
    if args.model == "ising2d":
        print(f"  T_c = {_fmt(sg.ONSAGER_TC)}  (Onsager 1944)")
    elif args.model == "ising1d":
        with np.errstate(divide="ignore", invalid="ignore"):
            z_m = np.abs(third.value - exact[2]) / third.stderr
        print(f"  max_z_m2 = {np.nanmax(z_m):.3g}")
        z_max = max(z_max, np.nanmax(z_m))
    if args.model != "sk" and z_max > GIBBS_Z_WARN:
        print(f"  warning: Monte Carlo and exact values differ by up to {z_max:.3g} standard "
              f"errors (> {GIBBS_Z_WARN:g}): the chains are not in equilibrium or not "
              "ergodic; raise --sweeps, or try --method pt")
    if args.model == "sk":
        i0 = k - 1  # the lowest temperature
        q = res.overlaps[:, i0, :].ravel()
        tl = temps[i0]
        q_ea = th.q_max[i0]
        print(f"  overlap at T = {_fmt(tl)}: mean_abs_q = {np.abs(q).mean():.6f}, q2 = "
              f"{third.value[i0]:.6f}")
        if tl < 1.0:
            pr = sg.sk_parisi(tl, 0.0, args.k_rsb)
            print(f"  small_q_weight = {np.mean(np.abs(q) < q_ea / 2):.6f}  (fraction of "
                  f"|q| < q_EA / 2 = {q_ea / 2:.4f}; replica symmetry would put ~0 there "
                  "as N -> inf)")
            print("  parisi_q = " + " ".join(f"{v:.6f}" for v in pr.q)
                  + f"  ({args.k_rsb}-step overlaps q_0..q_k at T = {_fmt(tl)})")
            print(f"  rs_q = {th.q_rs[i0]:.6f}")
    if swaps is not None:
        print(f"  swap_rate_min = {swaps.min():.4f}  (mean {swaps.mean():.4f}, of the "
              f"{len(swaps)} neighbouring pairs)")
    j = int(np.argmax(res.tau_int))
    print(f"  tau_int_max = {res.tau_int[j]:.3g} sweeps  (energy, at T = {temps[j]:.4g})")
    if np.all(res.converged):
        print("  converged = yes  (every temperature: blocking plateau, run >= 50 tau_int)")
    else:
        bad = ", ".join(f"{t:.4g}" for t in temps[~res.converged])
        print(f"  converged = no  (not at T = {bad}); raise --sweeps")
    print(f"  wrote {args.out}")
    return 0
