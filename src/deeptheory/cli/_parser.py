"""The argparse tree of the ``deeptheory`` command (:func:`build_parser`), with the
subcommands that parse their own arguments (``verify``, ``sweep``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import cli as _cli  # the public limits, read at call time
from ._common import (
    PROG,
    _activation,
    _depth,
    _dpi,
    _gain,
    _grid_size,
    _int_in,
    _lr,
    _lyap_width,
    _nonneg_float,
    _nonneg_int,
    _Parser,
    _pos_float,
    _qr_every,
    _radius,
    _records,
    _seed,
    _spread,
    _steps,
    _tol,
    _width,
)
from ._dynamics import (
    _check_diffusion,
    _check_lyapunov,
    _check_ode_flow,
    _cmd_diffusion,
    _cmd_lyapunov,
    _cmd_ode_flow,
)
from ._infotheory import _check_info_plane, _cmd_info_plane
from ._meanfield import (
    QUANTITIES,
    _check_kernel,
    _check_meanfield,
    _check_phase_diagram,
    _cmd_kernel,
    _cmd_meanfield,
    _cmd_phase_diagram,
)
from ._rmt import _check_jacobian_spectrum, _cmd_jacobian_spectrum
from ._spinglass import (
    GIBBS_MAX_L,
    GIBBS_MAX_SK_N,
    GIBBS_MAX_SPINS,
    GIBBS_MAX_TEMPS,
    _check_complexity,
    _check_gibbs,
    _cmd_complexity,
    _cmd_gibbs,
    _temperature,
)


def _activation_names() -> str:
    from ..kernels import list_activations

    return ", ".join(list_activations())


def _figure_args(sp: argparse.ArgumentParser, default: str, force_help: str) -> None:
    """The --out FILE.png, --dpi and --force options of a figure-writing subcommand."""
    sp.add_argument("--out", type=Path, default=Path(default), metavar="FILE.png",
                    help=f"output figure; its directory must exist (default: {default})")
    sp.add_argument("--dpi", type=_dpi, default=100,
                    help="resolution of raster output, 10 to 1000 (default: 100)")
    sp.add_argument("--force", action="store_true", help=force_help)


def _delegated(sub: Any, name: str, func: Any, help: str, description: str) -> None:
    """A subcommand with its own parser: listed here, its arguments parsed by ``func``."""
    sp = sub.add_parser(name, help=help, add_help=False, description=f"{description} Run "
                        f"'deeptheory {name} --help' for its options.")
    sp.add_argument("args", nargs=argparse.REMAINDER, help=f"options of deeptheory {name}")
    sp.set_defaults(func=func, check=lambda args: 0.0)


def _cmd_verify(args: argparse.Namespace, estimate: float = 0.0) -> int:
    from ..verify import main_verify

    return int(main_verify(list(args.args)))


def _cmd_sweep(args: argparse.Namespace, estimate: float = 0.0) -> int:
    from ..sweep import main_sweep

    return int(main_sweep(list(args.args)))


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser for the ``deeptheory`` command (used by :func:`main`)."""
    from .. import __version__

    acts = _activation_names()
    act_help = (f"activation function phi (default: tanh): one of {acts}, or an expression "
                "in x such as 'tanh(x)+0.1*x' (registered under that name)")
    force_help = (f"run even when the estimated time exceeds the {_cli.MAX_SECONDS:.0f} s limit")
    p = _Parser(
        prog=PROG,
        description="Theory-first numerics for deep networks. Mean-field signal propagation "
        "(Poole et al. 2016; Schoenholz et al. 2017) with weights W_ij ~ N(0, sigma_w2/N) and "
        "biases b_i ~ N(0, sigma_b2): sigma_w2 and sigma_b2 are VARIANCES.",
        epilog="Run 'deeptheory SUBCOMMAND --help' for the options of each subcommand.",
    )
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)

    pd = sub.add_parser(
        "phase-diagram",
        help="compute a (sigma_w2, sigma_b2) phase diagram and write it as a figure",
        description="Compute the mean-field phase diagram on an N x N grid (sigma_w2 in "
        "[sw2-min, sw2-max], sigma_b2 in [0, sb2-max]) and write a heat map of one quantity "
        "with the order-to-chaos line chi_1 = 1 drawn on top.",
    )
    pd.add_argument("--activation", type=_activation, default="tanh", help=act_help)
    pd.add_argument("--grid", type=_grid_size, default=100, metavar="N",
                    help="number of grid points along each axis, >= 2 (default: 100)")
    pd.add_argument("--out", type=Path, default=Path("phase_diagram.png"), metavar="FILE.png",
                    help="output figure (.png, .pdf, .svg, ...); its directory must exist "
                    "(default: phase_diagram.png)")
    pd.add_argument("--sw2-min", type=_pos_float, default=0.05, metavar="X",
                    help="smallest weight variance sigma_w2 on the grid, > 0 (default: 0.05)")
    pd.add_argument("--sw2-max", type=_pos_float, default=4.0, metavar="X",
                    help=f"largest weight variance sigma_w2 on the grid, <= {_cli.VARIANCE_MAX:g} "
                    "(default: 4)")
    pd.add_argument("--sb2-max", type=_pos_float, default=2.0, metavar="Y",
                    help="largest bias variance sigma_b2 on the grid; the grid starts at 0 "
                    "(default: 2)")
    pd.add_argument("--quantity", choices=QUANTITIES, default="xi_c",
                    help="quantity shown as the heat map: xi_c (correlation depth scale), "
                    "xi_q (length depth scale), q_star, chi1, chi2 (smooth phi only), c_star, "
                    "chi_c (default: xi_c)")
    pd.add_argument("--dpi", type=_dpi, default=100,
                    help="resolution of raster output, 10 to 1000 (default: 100)")
    pd.add_argument("--force", action="store_true", help=force_help)
    pd.set_defaults(func=_cmd_phase_diagram, check=_check_phase_diagram)

    mfp = sub.add_parser(
        "meanfield",
        help="print the mean-field quantities at one (sigma_w2, sigma_b2)",
        description="Print q*, chi_1, chi_2, c*, chi_c, the depth scales xi_q, xi_c, xi_grad, "
        "the phase (ordered: chi_1 < 1; chaotic: chi_1 > 1) and the critical sigma_w2 "
        "(chi_1 = 1) at the given sigma_b2.",
    )
    mfp.add_argument("--activation", type=_activation, default="tanh", help=act_help)
    mfp.add_argument("--sigma-w2", type=_nonneg_float, required=True, metavar="X",
                     help="weight variance sigma_w^2 (W_ij ~ N(0, sigma_w2 / N)), in "
                     f"[0, {_cli.VARIANCE_MAX:g}]")
    mfp.add_argument("--sigma-b2", type=_nonneg_float, required=True, metavar="Y",
                     help="bias variance sigma_b^2 (b_i ~ N(0, sigma_b2)), in "
                     f"[0, {_cli.VARIANCE_MAX:g}]")
    mfp.set_defaults(func=_cmd_meanfield, check=_check_meanfield)

    kp = sub.add_parser(
        "kernel",
        help="summarise the infinite-width NNGP / NTK dot-product kernel and plot kappa(c)",
        description="Infinite-width kernels of a fully connected network on the sphere "
        "(|x|^2 / d = q0): print kappa(c) = K(x, x') of the NNGP and the NTK (NTK "
        "parameterisation) at a few cosines c, the mean-field phase, and write a figure of "
        "the normalised kappa(c) / kappa(1) after every layer (Lee et al. 2018; Jacot et al. "
        "2018). depth = number of hidden layers.",
    )
    kp.add_argument("--activation", type=_activation, default="tanh", help=act_help)
    kp.add_argument("--depth", type=_int_in(1, 1000), default=10, metavar="L",
                    help="number of hidden layers, 1 to 1000 (default: 10)")
    kp.add_argument("--sigma-w2", type=_pos_float, default=2.0, metavar="X",
                    help="weight variance sigma_w2 (W_ij ~ N(0, sigma_w2 / fan_in)) "
                    "(default: 2)")
    kp.add_argument("--sigma-b2", type=_nonneg_float, default=0.0, metavar="Y",
                    help="bias variance sigma_b2 (default: 0)")
    kp.add_argument("--q0", type=_pos_float, default=1.0, metavar="Q",
                    help="squared input norm per coordinate |x|^2 / d (default: 1)")
    kp.add_argument("--network", choices=("plain", "resnet"), default="plain",
                    help="plain or residual network (default: plain)")
    kp.add_argument("--kind", choices=("reduced", "full"), default="reduced",
                    help="residual block: reduced x + alpha phi(h) or full "
                    "x + alpha (V phi(h) + a) (default: reduced)")
    kp.add_argument("--alpha", choices=("1", "1/sqrt(L)", "1/L"), default="1",
                    help="residual branch scale (default: 1)")
    _figure_args(kp, "kernel.png", force_help)
    kp.set_defaults(func=_cmd_kernel, check=_check_kernel)

    js = sub.add_parser(
        "jacobian-spectrum",
        help="plot the spectrum of the input-output Jacobian of a deep random network",
        description="Limiting eigenvalue density of J J^T (free probability: Pennington, "
        "Schoenholz & Ganguli 2017, 2018) at the fixed point q*, against the eigenvalues of "
        "sampled networks, and the largest singular value against depth for Gaussian and "
        "orthogonal weights; written as a figure. By default sigma_w2 is on the critical "
        "line chi_1 = 1 at the given sigma_b2.",
    )
    js.add_argument("--activation", type=_activation, default="tanh", help=act_help)
    js.add_argument("--weights", choices=("gaussian", "orthogonal"), default="gaussian",
                    help="weight ensemble: Gaussian N(0, sigma_w2/N) or sigma_w times a Haar "
                    "orthogonal matrix (default: gaussian, as in the library)")
    js.add_argument("--depth", type=_depth, default=32, metavar="L",
                    help="number of layers L >= 1 (default: 32)")
    js.add_argument("--sigma-w2", type=_pos_float, default=None, metavar="X",
                    help="weight variance in (0, 1e4] (default: the critical value chi_1 = 1)")
    js.add_argument("--sigma-b2", type=_nonneg_float, default=0.01, metavar="Y",
                    help=f"bias variance in [0, {_cli.VARIANCE_MAX:g}] (default: 0.01)")
    js.add_argument("--width", type=_width, default=400, metavar="N",
                    help="width of the sampled networks, >= 2 (default: 400)")
    js.add_argument("--trials", type=_depth, default=2, metavar="K",
                    help="number of sampled networks (default: 2); 0 is not allowed, use "
                    "--no-sample")
    js.add_argument("--no-sample", action="store_true", help="theory only, no sampled networks")
    js.add_argument("--seed", type=_seed, default=0,
                    help="seed of the sampled networks, an integer >= 0 (default: 0)")
    js.add_argument("--out", type=Path, default=Path("jacobian_spectrum.png"),
                    metavar="FILE.png", help="output figure (default: jacobian_spectrum.png)")
    js.add_argument("--force", action="store_true", help=force_help)
    js.set_defaults(func=_cmd_jacobian_spectrum, check=_check_jacobian_spectrum)

    ip = sub.add_parser(
        "info-plane",
        help="train a network on the 12-bit task and plot its information plane",
        description="Train a 12-10-7-5-4-3-2 network (Shwartz-Ziv & Tishby 2017; Adam, "
        "lr 4e-4, batch 512, 80% of the 4096 patterns) and plot every layer's trajectory "
        "in the (I(X;T), I(T;Y)) plane, in bits, estimated by binning (30 bins) and, with "
        "--kde, by the Kolchinsky-Tracey KDE bound (noise variance 1e-3; Saxe et al. 2018). "
        "The arrays are saved next to the figure as .npz.",
    )
    ip.add_argument("--activation", type=_activation, default="tanh",
                    help="hidden activation (default: tanh; relu gives the Saxe et al. "
                    "counter-example); a name or an expression in x")
    ip.add_argument("--epochs", type=_depth, default=2000, metavar="N",
                    help="training epochs (default: 2000; the paper used 8000)")
    ip.add_argument("--records", type=_records, default=40, metavar="R",
                    help="number of log-spaced epochs recorded, 2 to 1000 (default: 40)")
    ip.add_argument("--kde", action="store_true",
                    help="also estimate by KDE (O(N^2) per point: uses 10 of the records)")
    ip.add_argument("--seed", type=_seed, default=0,
                    help="seed of the initialisation and split, an integer >= 0 (default: 0)")
    ip.add_argument("--progress", action="store_true",
                    help="print training progress (automatic for long runs)")
    ip.add_argument("--out", type=Path, default=Path("info_plane.png"), metavar="FILE.png",
                    help="output figure (default: info_plane.png); the arrays go to the same "
                    "name with .npz")
    ip.add_argument("--force", action="store_true", help=force_help)
    ip.set_defaults(func=_cmd_info_plane, check=_check_info_plane)

    cp = sub.add_parser(
        "complexity",
        help="plot the complexity of the spherical p-spin landscape",
        description="Complexity Theta_p(u) and Theta_{k,p}(u) of critical points of the "
        "spherical p-spin Hamiltonian (Auffinger, Ben Arous & Cerny 2013; H normalised so "
        "that E[H(s)H(s')] = N (s.s'/N)^p on |s|^2 = N, energies per site u = H/N), with "
        "the levels -E_0 (ground state), -E_k and -E_inf; writes a figure and prints them.",
    )
    cp.add_argument("--p", type=_int_in(3, 1000, " (p = 2 has no exponential complexity)"),
                    default=3, metavar="P", help="interaction order p, 3 to 1000 (default: 3)")
    cp.add_argument("--max-index", type=_nonneg_int, default=5, metavar="K",
                    help="largest index k drawn (default: 5)")
    cp.add_argument("--out", type=Path, default=Path("complexity.png"), metavar="FILE.png",
                    help="output figure (default: complexity.png)")
    cp.add_argument("--force", action="store_true", help=force_help)
    cp.set_defaults(func=_cmd_complexity, check=_check_complexity)

    gb = sub.add_parser(
        "gibbs",
        help="sample the Gibbs measure of the SK model or an Ising lattice (parallel "
        "tempering) against the exact solution or replica theory",
        description="Sample exp(-H/T) / Z by parallel tempering (Hukushima & Nemoto 1996; "
        "or independent Metropolis chains) on a ladder of temperatures geometric in 1/T, "
        "and print per temperature the energy per spin, the specific heat, <|m|> or <m^2> "
        "or the overlap <q^2>, with blocking standard errors, integrated autocorrelation "
        "times and swap rates, beside the exact or theoretical values: ising2d, Kaufman's "
        "finite L x L torus (exact) and Onsager / Yang (L = inf); ising1d, the transfer "
        "matrix of the ring (exact); sk (H = -sum_{i<j} J_ij s_i s_j, J_ij ~ N(0, 1/N), "
        "T_c = 1), the paramagnet above T_c and the k-step Parisi solution below it, the "
        "replica-symmetric free energy beside. Writes a figure (for sk, the overlap "
        "distribution P(q) at the lowest temperature).",
    )
    gb.add_argument("--model", choices=("sk", "ising2d", "ising1d"), default="sk",
                    help="sk (Sherrington-Kirkpatrick), ising2d (L x L periodic square "
                    "lattice, J = 1) or ising1d (periodic ring, J = 1) (default: sk)")
    gb.add_argument("--n", type=_int_in(2, None), default=None, metavar="N",
                    help=f"number of spins: sk 2 to {GIBBS_MAX_SK_N} (default: 128), ising1d "
                    f"2 to {GIBBS_MAX_SPINS} (default: 64); not for ising2d (use --l)")
    gb.add_argument("--l", type=_int_in(2, None), default=None, metavar="L",
                    help=f"side of the ising2d lattice, L x L spins, 2 to {GIBBS_MAX_L} "
                    "(default: 32)")
    gb.add_argument("--t-min", type=_temperature, default=None, metavar="T",
                    help="lowest temperature (default: sk 0.5, ising2d 1.5, ising1d 0.5)")
    gb.add_argument("--t-max", type=_temperature, default=None, metavar="T",
                    help="highest temperature (default: sk 1.6, ising2d 3.5, ising1d 3)")
    gb.add_argument("--temps", type=_int_in(1, GIBBS_MAX_TEMPS), default=16, metavar="K",
                    help=f"number of temperatures, geometric in 1/T, 1 to {GIBBS_MAX_TEMPS} "
                    "(default: 16; parallel tempering needs 2; with 1 the temperature is "
                    "--t-min)")
    gb.add_argument("--sweeps", type=_int_in(100, 10**9), default=10000, metavar="S",
                    help="measured sweeps (N single-spin updates each) after S/4 of burn-in, "
                    ">= 100 (default: 10000)")
    gb.add_argument("--copies", type=_int_in(1, 64), default=2, metavar="C",
                    help="independent copies of the ladder, 1 to 64; the overlaps q pair "
                    "copies (1, 2), (3, 4), ... (default: 2; sk needs 2)")
    gb.add_argument("--method", choices=("pt", "metropolis"), default="pt",
                    help="pt: parallel tempering, an exchange attempt after every sweep; "
                    "metropolis: independent chains (default: pt)")
    gb.add_argument("--k-rsb", type=_int_in(1, 8), default=3, metavar="K",
                    help="steps of replica-symmetry breaking of the sk theory below T_c, "
                    "1 to 8 (default: 3, within 1.5e-4 of full RSB)")
    gb.add_argument("--seed", type=_seed, default=0,
                    help="seed of the couplings (sk) and of the Monte Carlo, an integer >= 0 "
                    "(default: 0)")
    _figure_args(gb, "gibbs.png", force_help)
    gb.set_defaults(func=_cmd_gibbs, check=_check_gibbs)

    ly = sub.add_parser(
        "lyapunov",
        help="Lyapunov spectrum of a random recurrent network against mean-field theory",
        description="Sample the random network h_{t+1} = W phi(h_t) + b, W_ij ~ N(0, g^2/N), "
        "b_i ~ N(0, sigma_b2), estimate its Lyapunov spectrum by the QR method (Benettin et "
        "al. 1980) and print the largest exponent with its standard error, the mean-field "
        "prediction 1/2 ln chi_1 at sigma_w2 = g^2 (Molgedey et al. 1992), the phase, the "
        "Kaplan-Yorke dimension and the KS entropy (sum of the positive exponents); write a "
        "figure of the spectrum against the fresh-weights law (free probability) and of the "
        "running estimates. Exponents in nats per step.",
    )
    ly.add_argument("--activation", type=_activation, default="tanh", help=act_help)
    ly.add_argument("--gain", type=_gain, default=2.0, metavar="G",
                    help=f"gain g in (0, {_cli.GAIN_MAX:g}]: W_ij ~ N(0, g^2 / N), i.e. "
                    "sigma_w2 = g^2 (default: 2; tanh is chaotic for g > 1)")
    ly.add_argument("--width", type=_lyap_width, default=200, metavar="N",
                    help="number of units N, 2 to 10000 (default: 200)")
    ly.add_argument("--sigma-b2", type=_nonneg_float, default=0.0, metavar="Y",
                    help=f"bias variance in [0, {_cli.VARIANCE_MAX:g}] (fixed biases; default: 0)")
    ly.add_argument("--weights", choices=("gaussian", "orthogonal"), default="gaussian",
                    help="weight ensemble: Gaussian N(0, g^2/N) or g times a Haar orthogonal "
                    "matrix (default: gaussian)")
    ly.add_argument("--k", type=_depth, default=None, metavar="K",
                    help="number of leading exponents, 1 to N (default: all N)")
    ly.add_argument("--steps", type=_steps, default=5000, metavar="T",
                    help="measured steps after the transient, >= 10 (default: 5000)")
    ly.add_argument("--transient", type=_nonneg_int, default=None, metavar="T0",
                    help="steps discarded before measuring (default: steps / 10)")
    ly.add_argument("--qr-every", type=_qr_every, default="auto", metavar="M",
                    help="re-orthonormalise every M steps, or 'auto' (default: auto, the "
                    "largest interval <= 10 that keeps the frame from collapsing)")
    ly.add_argument("--tol", type=_tol, default=0.02, metavar="E",
                    help="largest standard error (nats per step) reported as converged "
                    "(default: 0.02)")
    ly.add_argument("--seed", type=_seed, default=0,
                    help="seed of the network and of the initial state, an integer >= 0 "
                    "(default: 0)")
    _figure_args(ly, "lyapunov.png", force_help)
    ly.set_defaults(func=_cmd_lyapunov, check=_check_lyapunov)

    of = sub.add_parser(
        "ode-flow",
        help="train a neural-ODE classifier on 2-D ring or spiral data, with or without "
        "an augmented dimension, and draw its trajectories",
        description="Train the residual network that discretises z' = f(z, t), f(z) = W2 "
        "phi(W1 z + b1) + b2 (Chen et al. 2018), followed by a linear read-out, on 2-D ring "
        "data (a disk inside an annulus; Dupont et al. 2019) or two spirals, in the plane "
        "(--dim 2) or with augmented zero coordinates (--dim 3); full-batch Adam on the "
        "logistic loss (+ L2). Prints the accuracy, the read-out margin, for the ring "
        "whether the flow separates the continuous ring (a 2-D flow cannot: the flowed "
        "circle winds about the flowed centre), and the line-shape and OT scores of the "
        "tracks (Gai & Zhang 2021); writes the trajectories and the training loss.",
    )
    of.add_argument("--data", choices=("ring", "spiral"), default="ring",
                    help="data set (default: ring)")
    of.add_argument("--dim", type=_int_in(2, 3), default=3, metavar="D",
                    help="state dimension: 2 (plain neural ODE) or 3 (augmented; default: 3)")
    of.add_argument("--n", type=_int_in(4, 5000), default=200, metavar="N",
                    help="number of training points, 4 to 5000 (default: 200)")
    of.add_argument("--hidden", type=_int_in(1, 1024), default=32, metavar="H",
                    help="hidden width of the field, 1 to 1024 (default: 32)")
    of.add_argument("--depth", type=_int_in(1, 1000), default=10, metavar="L",
                    help="number of residual blocks on t in [0, 1], 1 to 1000 (default: 10)")
    of.add_argument("--block", choices=("euler", "rk4"), default="rk4",
                    help="block type: Euler (a plain ResNet) or classical RK4 (default: rk4)")
    of.add_argument("--activation", type=_activation, default="tanh", help=act_help)
    of.add_argument("--epochs", type=_int_in(1, 100000), default=400, metavar="E",
                    help="full-batch Adam steps (default: 400)")
    of.add_argument("--lr", type=_lr, default=0.02, help="Adam step size in (0, 1] "
                    "(default: 0.02)")
    of.add_argument("--l2", type=_nonneg_float, default=1e-3, metavar="LAMBDA",
                    help="L2 regulariser (LAMBDA / 2) |theta|^2 of the field's weights "
                    "(default: 0.001)")
    of.add_argument("--seed", type=_seed, default=0,
                    help="seed of the data and of the initial weights (default: 0)")
    _figure_args(of, "ode_flow.png", force_help)
    of.set_defaults(func=_cmd_ode_flow, check=_check_ode_flow)

    df = sub.add_parser(
        "diffusion",
        help="sample a 2-D Gaussian mixture with a score-based diffusion model (exact score)",
        description="Score-based diffusion (Song et al. 2021) on a 2-D Gaussian mixture of K "
        "components on a circle of radius R (covariance S I each), whose noised marginals "
        "p_t and scores are exact: sample by the probability-flow ODE (Euler or RK4 on the "
        "compiled integrator) or the reverse-time SDE (Euler-Maruyama, Anderson 1982) from "
        "exact samples of p_T, under the variance-preserving process (Ho et al. 2020) or "
        "dy = dW; print the Kolmogorov-Smirnov, energy-distance and W2 checks against the "
        "exact target and write the samples beside the target's density contours.",
    )
    df.add_argument("--process", choices=("vp", "brownian"), default="vp",
                    help="forward process: variance preserving (beta 0.1 -> 20 on [0, 1]) or "
                    "dy = dW (default: vp)")
    df.add_argument("--sampler", choices=("ode", "sde"), default="ode",
                    help="probability-flow ODE or reverse-time SDE (default: ode)")
    df.add_argument("--method", choices=("euler", "rk4"), default="rk4",
                    help="ODE stepper (the SDE always uses Euler-Maruyama; default: rk4)")
    df.add_argument("--steps", type=_int_in(1, 100000), default=None, metavar="S",
                    help="number of steps (default: 100 for the ODE, 500 for the SDE)")
    df.add_argument("--n", type=_int_in(10, 10**6), default=2000, metavar="N",
                    help="number of samples, 10 to 10^6 (default: 2000)")
    df.add_argument("--components", type=_int_in(1, 64), default=8, metavar="K",
                    help="mixture components on the circle, 1 to 64 (default: 8)")
    df.add_argument("--radius", type=_radius, default=2.0, metavar="R",
                    help="radius of the circle of means, in (0, 100] (default: 2)")
    df.add_argument("--spread", type=_spread, default=0.05, metavar="S",
                    help="variance of each component, in (0, 100] (default: 0.05)")
    df.add_argument("--seed", type=_seed, default=0,
                    help="seed of the initial samples and of the SDE noise (default: 0)")
    _figure_args(df, "diffusion.png", force_help)
    df.set_defaults(func=_cmd_diffusion, check=_check_diffusion)

    _delegated(sub, "verify", _cmd_verify,
               "theory beside simulation for every pillar, with a PASS/FAIL verdict per row",
               "Compute every quantity the toolkit both predicts and measures (mean field, "
               "residual networks and kernels, Jacobian spectra, Lyapunov exponents, "
               "spin-glass counts and Gibbs quantities, information estimators) and print "
               "theory, simulation, standard error, z-score, finite-size allowance and the "
               "verdict; exit status 1 when a row fails.")
    _delegated(sub, "sweep", _cmd_sweep,
               "run a toolkit function over a parameter grid (Dask), stored and resumable",
               "Run a toolkit function at every point of a parameter grid on an embedded or "
               "existing Dask cluster, storing the labelled result (xarray, netCDF or Zarr) "
               "chunk by chunk so that a rerun resumes.")
    return p
