"""Regenerate the figures of docs/spinglass.md into docs/figures/.

    python docs/make_spinglass_figures.py                    # all figures
    python docs/make_spinglass_figures.py --quick            # fewer starts, sweeps and samples
    python docs/make_spinglass_figures.py --only fig_ising fig_sk fig_spherical   # statics only

Times (2-core machine, see docs/spinglass.md): the landscape figures full 689 s CPU, --quick
98 s; the three statics figures full 233 s CPU, --quick 38 s.  Every figure is
seeded.  The statics figures print the numbers quoted in docs/spinglass.md.

Figures:

* ``spinglass_complexity.png``: Theta_p(u), Theta_{k,p}(u) for p = 3 (bottom of the
  landscape) and the finite-N exact counts (1/N) ln E Crt_N(u) approaching Theta_p.
* ``spinglass_index.png``: the index law of Bray & Dean and the shifted-semicircle Hessian
  spectrum at a critical point of energy u.
* ``spinglass_mc.png``: Monte Carlo on sampled Hamiltonians: energies of gradient-descent
  minima against -E_0 and -E_inf; mean counts of critical points by index at N = 5 against
  the exact finite-N formula; the Hessian spectrum at found minima against the shifted
  semicircle; and the Choromanska et al. experiment (final losses of many initialisations
  of small relu networks, narrowing with size).
* ``spinglass_ising.png``: 2-D Ising parallel tempering at L = 16, 32, 64 (energy, specific
  heat, <|m|>) against Kaufman's exact finite torus, Onsager and Yang.
* ``spinglass_sk.png``: the SK model: free energy (paramagnet, RS, 1RSB, 3-step Parisi and
  thermodynamic integration at N = 64, 128, 256), the same as differences from Parisi, the
  energy, P(q) at T = 0.5 from parallel tempering, the de Almeida-Thouless line, and the
  ground-state extrapolation in N^{-2/3} against -0.763166.
* ``spinglass_spherical.png``: the spherical 3-spin: 1RSB free energy, energy, q and m against
  T with T_s and T_d (Crisanti-Sommers units), and the statics beside the complexity in ABC
  units (the ground state at -E_0, the threshold at -E_inf).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
from _figures import run_registry, save_figure  # docs/_figures.py (the script's own folder)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from deeptheory import spinglass as sg  # noqa: E402

OUT = Path(__file__).resolve().parent / "figures"
DPI = 100


def fig_complexity(outdir: Path, quick: bool = False) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
    sg.plot_complexity(3, ks=(0, 1, 2, 5), ax=axes[0])
    ax = axes[1]
    p = 3
    u = np.linspace(-1.9, 0.6, 120)
    ax.plot(u, sg.theta(u, p), "k-", lw=2, label=r"$\Theta_3(u)$ (N $\to\infty$)")
    for n in (10, 40, 160) if quick else (10, 40, 160, 400):
        vals = np.array([sg.expected_critical_points_total(n, p, u_max=float(v)) for v in u])
        with np.errstate(divide="ignore"):
            ax.plot(u, np.log(vals) / n, "--", label=f"N = {n}, exact (1/N) ln E Crt_N(u)")
    ax.axvline(-float(sg.e_inf(p)), color="C3", ls=":", lw=0.8)
    ax.set_ylim(-0.3, 0.45)
    ax.set_xlabel("u")
    ax.set_ylabel("nats per site")
    ax.set_title("finite N (Kac-Rice with the GOE, exact) against the limit", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, outdir, "spinglass_complexity.png", DPI)


def fig_index(outdir: Path, quick: bool = False) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for p in (3, 4, 10):
        einf = float(sg.e_inf(p))
        u = np.linspace(-einf * 1.05, einf * 1.05, 400)
        axes[0].plot(u / einf, sg.index_fraction(u, p), label=f"p = {p}")
    axes[0].set_xlabel(r"$u / E_\infty(p)$")
    axes[0].set_ylabel("index / N")
    axes[0].set_title("index law (Bray & Dean 2007): semicircle CDF of u/E_inf", fontsize=9)
    axes[0].legend(fontsize=8)
    p = 3
    x = np.linspace(-8, 8, 500)
    for u in (-float(sg.e_inf(p)), -1.0, 0.0, 1.0):
        axes[1].plot(x, sg.hessian_spectrum_pdf(x, u, p), label=f"u = {u:.3f}")
    axes[1].axvline(0, color="0.5", lw=0.6)
    axes[1].set_xlabel("eigenvalue of the Riemannian Hessian")
    axes[1].set_title("Hessian spectrum at a critical point of energy u, p = 3: semicircle "
                      "centred at -p u", fontsize=9)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, outdir, "spinglass_index.png", DPI)


def fig_mc(outdir: Path, quick: bool = False) -> None:
    p = 3
    fig, axes = plt.subplots(1, 4, figsize=(20, 4))
    ax = axes[0]
    for n in ((50, 100) if quick else (50, 100, 200)):
        us = []
        for seed in range(2):
            h = sg.sample_hamiltonian(n, p, seed=seed)
            us.append(sg.gradient_descent(h, 100, seed=seed).u)
        us = np.concatenate(us)
        ax.hist(us, bins=40, density=True, histtype="step", lw=1.5,
                label=f"N = {n}: mean {us.mean():.4f}")
    ax.axvline(-float(sg.e_0(p)), color="C0", ls="--", label=r"$-E_0$")
    ax.axvline(-float(sg.e_inf(p)), color="C3", ls=":", label=r"$-E_\infty$")
    ax.set_xlabel("energy per site u of gradient-descent minima")
    ax.set_title("p = 3: minima found by gradient descent", fontsize=9)
    ax.legend(fontsize=7)

    ax = axes[1]
    n, reps = 5, (10 if quick else 20)
    counts = np.array([sg.critical_points(sg.sample_hamiltonian(n, p, 100 + i), 300, i).counts()
                       for i in range(reps)])
    k = np.arange(n)
    exact = [sg.expected_critical_points(n, p, int(j)) for j in k]
    ax.bar(k - 0.2, counts.mean(0), 0.4, yerr=2 * counts.std(0, ddof=1) / np.sqrt(reps),
           label=f"multistart Newton, {reps} Hamiltonians")
    ax.bar(k + 0.2, exact, 0.4, label="exact E Crt_{N,k} (Kac-Rice, GOE)")
    ax.set_xlabel("index k")
    ax.set_ylabel("mean number of critical points")
    ax.set_title(f"p = 3, N = {n}: critical points by index", fontsize=9)
    ax.legend(fontsize=7)

    ax = axes[2]
    n = 100
    h = sg.sample_hamiltonian(n, p, seed=7)
    res = sg.gradient_descent(h, 20, seed=7)
    order = np.argsort(res.u)[:10]
    eig = np.concatenate([sg.riemannian_hessian(h, res.points[i], eigenvalues=True)
                          for i in order])
    u = float(np.mean(res.u[order]))
    x = np.linspace(eig.min() - 1, eig.max() + 1, 400)
    ax.hist(eig, bins=50, density=True, color="0.75", label=f"10 minima, N = {n}")
    ax.plot(x, sg.hessian_spectrum_pdf(x, u, p), "C3-",
            label=f"semicircle centred at -p u, u = {u:.3f}")
    ax.set_xlabel("eigenvalue of the Riemannian Hessian")
    ax.set_title("Hessian spectrum at minima", fontsize=9)
    ax.legend(fontsize=7)

    ax = axes[3]
    res = sg.choromanska_experiment(n_inits=10 if quick else 20,
                                    steps=500 if quick else 2000)
    bins = np.linspace(np.min(res.test_loss), np.max(res.test_loss), 40)
    for j, hs in enumerate(res.hidden_sizes):
        ax.hist(res.test_loss[j], bins=bins, histtype="step", lw=1.5,
                label=f"{hs} hidden units (sd {np.std(res.test_loss[j]):.2g})")
    ax.set_xlabel("final test loss")
    ax.set_title("Choromanska et al.: losses of one-hidden-layer relu nets, many inits",
                 fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, outdir, "spinglass_mc.png", DPI)


# --------------------------------------------------------------------------------- statics


def _z(est, exact):
    """|MC - exact| / standard error, elementwise."""
    return np.abs(est.value - exact) / est.stderr


def fig_ising(outdir: Path, quick: bool = False) -> None:
    """2-D Ising: parallel tempering on L x L tori against Kaufman, Onsager and Yang."""
    sizes = (16, 32, 64)
    n_temps = {16: 12, 32: 18, 64: 28}
    sweeps = 5000 if quick else 40000
    res = {}
    for i, L in enumerate(sizes):
        model = sg.IsingLattice(L, 2)
        ladder, _ = sg.temperature_ladder(model, (1 / 3.6, 1 / 1.4), n_temps[L],
                                          tune_sweeps=500 if quick else 2000, seed=10 + i)
        r = sg.parallel_tempering(model, ladder, sweeps, n_copies=2, seed=20 + i)
        res[L] = r
        kf = sg.ising_2d_finite(r.betas, L)
        t = 1 / r.betas
        zc = _z(r.specific_heat, kf.specific_heat)
        fine = np.linspace(t.min(), t.max(), 2001)
        c_fine = sg.ising_2d_finite(1 / fine, L).specific_heat
        k_mc = int(np.argmax(r.specific_heat.value))
        below = r.betas > 0.6  # T < 1.67: finite-size corrections to <|m|> below 1e-6
        zm = _z(r.magnetisation, sg.yang_magnetisation(r.betas))[below]
        print(f"  L = {L}: {len(t)} temperatures in [{t.min():.3f}, {t.max():.3f}], {sweeps} "
              f"sweeps x 2 copies; swap rates {r.swap_rates.min():.2f}..."
              f"{r.swap_rates.max():.2f}; tau_int max {r.tau_int.max():.0f} sweeps at T = "
              f"{t[np.argmax(r.tau_int)]:.3f}; converged {int(r.converged.sum())}/{len(t)}")
        print(f"    vs Kaufman: energy max |z| {_z(r.energy, kf.energy).max():.2f}, max |dE| "
              f"{np.max(np.abs(r.energy.value - kf.energy)):.2e}; specific heat max |z| "
              f"{zc.max():.2f}; C peak MC {r.specific_heat.value[k_mc]:.3f} at T = "
              f"{t[k_mc]:.3f}, Kaufman {c_fine.max():.3f} at T = {fine[np.argmax(c_fine)]:.3f}")
        if zm.size:
            print(f"    <|m|> vs Yang for T < 1.67: max |z| {zm.max():.2f} over {zm.size} "
                  f"temperatures")
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    sg.plotting.plot_ising_mc(res, dim=2, axes=axes)
    # inset: the energy residuals against Kaufman's exact finite-L values
    ins = axes[0].inset_axes([0.55, 0.1, 0.42, 0.36])
    for i, (L, r) in enumerate(res.items()):
        d = r.energy.value - sg.ising_2d_finite(r.betas, L).energy
        ins.errorbar(1 / r.betas, d, yerr=r.energy.stderr, fmt="o", ms=2.5, color=f"C{i}",
                     lw=0.8, capsize=1.5)
    ins.axhline(0.0, color="k", lw=0.8)
    ins.axvline(sg.ONSAGER_TC, color="0.6", lw=0.8, ls=":")
    ins.set_title("MC - Kaufman", fontsize=7)
    ins.tick_params(labelsize=6)
    fig.tight_layout()
    save_figure(fig, outdir, "spinglass_ising.png", DPI)


def fig_sk(outdir: Path, quick: bool = False) -> None:
    """SK: free energies from replica theory and thermodynamic integration, P(q), AT line,
    ground-state extrapolation."""
    k = 2 if quick else 3
    sizes = (64, 128, 256)
    n_samp = 3 if quick else 8
    sweeps = 2000 if quick else 10000
    grid = np.linspace(0.0, 2.5, 26)  # beta; T down to 0.4
    keep = grid >= 0.62  # plotted: T <= 1.6
    t_mc = 1 / grid[keep]
    mc_f, mc_u = {}, {}
    for n in sizes:
        lz, us = [], []
        for j in range(n_samp):
            ti = sg.log_partition_ti(sg.sk_model(n, seed=1000 * n + j), grid, sweeps, seed=j)
            lz.append(ti.log_z[keep])
            us.append(ti.mc.energy.value[keep])
        f = -np.array(lz) / grid[keep]
        u = np.array(us)
        sd = np.sqrt(n_samp)
        mc_f[f"TI, N = {n} ({n_samp} samples)"] = (t_mc, f.mean(0), f.std(0, ddof=1) / sd)
        mc_u[f"PT, N = {n} ({n_samp} samples)"] = (t_mc, u.mean(0), u.std(0, ddof=1) / sd)
    t_th = np.unique(np.concatenate([np.linspace(0.0, 1.6, 17 if quick else 33), t_mc]))
    th = sg.plotting.sk_theory_curves(t_th, k)
    for T in (0.4, 0.5, 0.8, 1.25):
        i = int(np.argmin(np.abs(t_th - T)))
        print(f"  T = {t_th[i]:.3f}: f para {th.f_para[i]:.5f}  RS {th.f_rs[i]:.5f}  1RSB "
              f"{th.f_1rsb[i]:.6f}  Parisi-{k} {th.f_k[i]:.6f};  u RS {th.u_rs[i]:.5f}  "
              f"Parisi {th.u_k[i]:.5f};  q_RS {th.q_rs[i]:.4f}  q_EA {th.q_max[i]:.4f}  "
              f"<q^2> {th.q2_k[i]:.4f}")
    for lab, (tt, v, e) in mc_f.items():
        ref = sg.plotting.sk_theory_curves(tt, k)
        sel = [int(np.argmin(np.abs(tt - T))) for T in (0.4, 0.5, 1.0, 1.6)]
        print(f"  {lab}: f - f_Parisi at T = " + ", ".join(
            f"{tt[i]:.2f}: {v[i] - ref.f_k[i]:+.4f} +- {e[i]:.4f}" for i in sel))

    fig, axes = plt.subplots(2, 3, figsize=(17, 9))
    sg.plotting.plot_sk_thermodynamics("f", t_th, k, mc=mc_f, ax=axes[0, 0])
    axes[0, 0].set_ylim(-1.1, -0.65)
    axes[0, 0].set_xlim(0, 1.6)
    sg.plotting.plot_sk_thermodynamics("f", t_th, k, mc=mc_f, difference=True, ax=axes[0, 1])
    axes[0, 1].set_ylim(-0.03, 0.04)
    axes[0, 1].set_xlim(0, 1.6)
    sg.plotting.plot_sk_thermodynamics("energy", t_th, k, mc=mc_u, ax=axes[0, 2])
    axes[0, 2].set_ylim(-0.85, -0.25)
    axes[0, 2].set_xlim(0, 1.6)

    # P(q) at T = 0.5 from parallel tempering, several disorder samples
    betas = np.geomspace(0.6, 2.0, 12)
    ax = axes[1, 0]
    for i, (n, ns) in enumerate(((64, 6 if quick else 16), (128, 4 if quick else 16))):
        runs = [sg.parallel_tempering(sg.sk_model(n, seed=5000 + 100 * n + j), betas,
                                      3000 if quick else 20000, n_copies=2, seed=j)
                for j in range(ns)]
        q2 = np.mean([r.q2.value[-1] for r in runs])
        q2e = np.std([r.q2.value[-1] for r in runs], ddof=1) / np.sqrt(ns)
        qabs = np.mean([np.abs(r.overlaps[:, -1]).mean() for r in runs])
        small = np.mean([np.mean(np.abs(r.overlaps[:, -1]) < 0.25) for r in runs])
        sw = np.concatenate([r.swap_rates for r in runs])
        print(f"  P(q), N = {n}, T = 0.5, {ns} samples: <q^2> = {q2:.4f} +- {q2e:.4f}, "
              f"<|q|> = {qabs:.4f}, weight of |q| < 0.25 {small:.3f}; swap rates "
              f"{sw.min():.2f}..{sw.max():.2f}")
        sg.plotting.plot_overlap_distribution(runs, k_rsb=k, theory=i == 0, ax=ax,
                                              color=f"C{i}", label=f"parallel tempering, "
                                              f"N = {n}, {ns} samples")
    sg.plotting.plot_sk_at_line(1.0, 20 if quick else 40, ax=axes[1, 1])
    fit = sg.sk_ground_state_extrapolation(
        [32, 48, 64, 96] if quick else [32, 48, 64, 96, 128, 192], 12 if quick else 48,
        seed=3, n_sweeps=500 if quick else 2000)
    rows = zip(fit.Ns, fit.e_mean, fit.e_stderr, strict=True)
    print("  ground state: e(N) = " + ", ".join(f"{n}: {e:.4f} +- {s:.4f}" for n, e, s in rows)
        + f"; e_inf = {fit.e_inf:.4f} +- {fit.e_inf_stderr:.4f} (chi2 {fit.chi2:.2f}, dof "
        f"{fit.dof}), slope {fit.slope:.3f}; confirmed {fit.confirmed.mean():.2f}")
    sg.plotting.plot_ground_state_fit(fit, ax=axes[1, 2])
    fig.tight_layout()
    save_figure(fig, outdir, "spinglass_sk.png", DPI)


def fig_spherical(outdir: Path, quick: bool = False) -> None:
    """Spherical 3-spin: 1RSB statics and the complexity picture."""
    p = 3
    ts, td = sg.spherical_static_transition(p), sg.spherical_dynamic_transition(p)
    g0 = sg.spherical_ground_state(p)
    th0 = sg.spherical_threshold(0.0, p)
    print(f"  CS units: T_s = {ts.T:.6f} (q_s = {ts.q:.6f}), T_d = {td.T:.6f} (q_d = "
          f"{td.q:.6f}), ground state {g0.energy:.6f}, threshold at T = 0 {th0.energy:.6f}")
    print(f"  ABC units: T_s = {sg.cs_to_abc(ts.T):.6f}, T_d = {sg.cs_to_abc(td.T):.6f}, "
          f"ground state {sg.cs_to_abc(g0.energy):.6f} vs -E_0 = {-sg.e_0(p):.6f}, threshold "
          f"{sg.cs_to_abc(th0.energy):.6f} vs -E_inf = {-sg.e_inf(p):.6f}")
    fig = plt.figure(figsize=(17, 5))
    gs = fig.add_gridspec(2, 3)
    ax0 = fig.add_subplot(gs[:, 0])
    ax1 = fig.add_subplot(gs[:, 1])
    sg.plotting.plot_spherical_statics(p, axes=[ax0, ax1])
    top = fig.add_subplot(gs[0, 2])
    bot = fig.add_subplot(gs[1, 2], sharex=top)
    sg.plotting.plot_spherical_levels(p, axes=[top, bot])
    top.tick_params(labelbottom=False)
    fig.tight_layout()
    save_figure(fig, outdir, "spinglass_spherical.png", DPI)


def main() -> None:
    run_registry(__doc__.splitlines()[0], OUT,
                 (fig_complexity, fig_index, fig_mc, fig_ising, fig_sk, fig_spherical))


if __name__ == "__main__":
    main()
