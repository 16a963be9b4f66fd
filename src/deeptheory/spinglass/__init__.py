"""Landscape complexity of spherical p-spin spin glasses (Auffinger, Ben Arous & Cerny 2013).

Conventions (every function in this subpackage):

* Pure p-spin Hamiltonian H_N(s) = N^{-(p-1)/2} sum_{i_1..i_p} J_{i_1..i_p} s_{i_1} ... s_{i_p},
  J iid N(0, 1), on the sphere |s|^2 = N: E[H_N(s) H_N(s')] = N (s.s'/N)^p.  Mixed models:
  E[H_N(s) H_N(s')] = N xi(s.s'/N), xi(t) = sum_p a_p^2 t^p.
* Energies per site u = H_N / N; minima sit at negative u (ground state -E_0(p)).
* Complexities are exponential rates in nats, Theta(u) = lim (1/N) log E Crt_N(u).
* Index k = number of negative eigenvalues of the Riemannian Hessian on the (N-1)-dimensional
  tangent space; the index-k count uses lambda_k, the (k+1)-th smallest GOE eigenvalue.
* p = 2 is accepted and has no exponential complexity (2N critical points).

Asymptotic complexity (:mod:`.complexity`): :func:`e_inf`, :func:`rate_i1`, :func:`i1_delta`,
:func:`theta`, :func:`theta_k`, :func:`e_k`, :func:`e_0`, :func:`energy_table`; mixed models:
:func:`mixed_total_complexity`, :func:`mixed_theta_density`, :func:`mixed_theta`.

Finite N (:mod:`.finite_n`, ABC's exact Kac-Rice/GOE identity): exact
:func:`expected_critical_points` (index k or all, N <= 12), exact
:func:`expected_critical_points_total` (all indices, N <= 400) and the seeded Monte Carlo
:func:`expected_critical_points_mc` (a :class:`deeptheory.Estimate`; ``MCEstimate`` is an alias
kept for old code); :func:`sample_goe`.

Hessian spectrum and index law (:mod:`.index_law`, Bray & Dean 2007): :func:`index_fraction`,
:func:`hessian_spectrum_pdf`, :func:`hessian_radius`.  The semicircle distribution function is
:func:`deeptheory.rmt.laws.semicircle_cdf` (spinglass uses it with var = 1/4).

Arguments: p is an integer >= 2 and k an integer >= 0 everywhere (arrays broadcast); ``seed``
is an int >= 0, a :class:`numpy.random.Generator` or None; non-convergence raises
:class:`deeptheory.ConvergenceError`; functions whose cost grows fast (exact finite-N counts,
Monte Carlo, gradient descent, Newton searches, :func:`plot_complexity`) estimate their work up
front and raise ValueError above a documented ``max_work`` (or curve) limit.

Monte Carlo (:mod:`.sample`, compiled tensor kernels in :mod:`deeptheory.kernels.tensor`):
:func:`sample_hamiltonian`, :func:`energy`, :func:`riemannian_gradient`,
:func:`riemannian_hessian`, :func:`gradient_descent` (many starts at once),
:func:`critical_points` (multistart Newton, classified by index).  The neural-network analogy
(:mod:`.choromanska`, Choromanska et al. 2015): :func:`choromanska_experiment`.
Figures: :func:`plot_complexity`; statics: :func:`plot_ising_mc`, :func:`sk_theory_curves`,
:func:`plot_sk_thermodynamics`, :func:`plot_sk_at_line`, :func:`plot_overlap_distribution`,
:func:`plot_ground_state_fit`, :func:`plot_spherical_statics`, :func:`plot_spherical_levels`.

Statics (the Gibbs measure exp(-beta H) / Z): models sharing one interface (``n_spins``,
``energy(s)``; :mod:`.models`): :class:`IsingLattice` (periodic 1-D/2-D, H = -J sum_<ij>
s_i s_j - h sum s_i), :class:`SKModel` / :func:`sk_model` (H = -sum_{i<j} J_ij s_i s_j,
J_ij ~ N(0, 1/N); Sherrington & Kirkpatrick 1975), :class:`MixedSpherical` and the pure
:class:`PSpinHamiltonian`; exact results (:mod:`.exact`): the 1-D transfer matrix
:func:`ising_1d`, Onsager's 2-D solution :func:`onsager` and Yang's magnetisation
:func:`yang_magnetisation`, Kaufman's finite torus :func:`ising_2d_finite`, compiled
Gray-code enumeration :func:`enumerate_gibbs` (N <= :data:`MAX_ENUM_N`), annealed free
energies :func:`sk_annealed`, :func:`spherical_annealed`.  Monte Carlo (:mod:`.montecarlo`,
compiled in :mod:`deeptheory.kernels.spin_mc`, seeded, parallel over replicas):
:func:`metropolis` (checkerboard on lattices), :func:`parallel_tempering` with
:func:`temperature_ladder` (Hukushima & Nemoto 1996), thermodynamic integration
:func:`log_partition_ti`, and :func:`sk_ground_state_extrapolation` (N^{-2/3} fit).
Replica theory: SK (:mod:`.replica`; Parisi 1979-80): :func:`sk_rs_free_energy`, the
de Almeida-Thouless line :func:`sk_at_temperature`, :func:`sk_1rsb`, the k-step Parisi
solver :func:`sk_parisi` and :func:`sk_ground_state` (-0.763166, Crisanti & Rizzo 2002);
the spherical p-spin in Crisanti-Sommers units (:mod:`.spherical_statics`; Crisanti &
Sommers 1992): :func:`spherical_1rsb`, :func:`spherical_static_transition`,
:func:`spherical_dynamic_transition`, :func:`spherical_threshold`,
:func:`spherical_ground_state` and the unit conversions :func:`cs_to_abc`,
:func:`abc_to_cs` (energies and temperatures x sqrt 2 into the complexity functions' units).
"""

from .choromanska import ChoromanskaResult, choromanska_experiment
from .complexity import (
    e_0,
    e_inf,
    e_k,
    energy_table,
    i1_delta,
    mixed_theta,
    mixed_theta_density,
    mixed_total_complexity,
    rate_i1,
    theta,
    theta_k,
)
from .exact import (
    MAX_ENUM_N,
    ONSAGER_BETA_C,
    ONSAGER_TC,
    GibbsEnumeration,
    Ising1D,
    Ising2D,
    enumerate_gibbs,
    ising_1d,
    ising_1d_correlation,
    ising_2d_finite,
    onsager,
    onsager_free_energy,
    sk_annealed,
    spherical_annealed,
    yang_magnetisation,
)
from .finite_n import (
    MAX_EXACT_N,
    MAX_EXACT_WORK,
    MAX_MC_WORK,
    MAX_TOTAL_N,
    MCEstimate,
    expected_critical_points,
    expected_critical_points_mc,
    expected_critical_points_total,
    sample_goe,
)
from .index_law import hessian_radius, hessian_spectrum_pdf, index_fraction
from .models import (
    IsingLattice,
    MixedSpherical,
    SKModel,
    ising_energy,
    mixed_spherical,
    sk_model,
    spherical_energy,
    spherical_gradient,
)
from .montecarlo import (
    MAX_MC_SWEEP_WORK,
    SK_GROUND_STATE,
    GroundStateFit,
    SpinMCResult,
    TIResult,
    log_partition_ti,
    metropolis,
    parallel_tempering,
    sk_ground_state_extrapolation,
    temperature_ladder,
)
from .parisi import (
    SK_GROUND_STATE_PARISI,
    SK1RSBResult,
    SKGroundState,
    SKParisiResult,
    sk_1rsb,
    sk_ground_state,
    sk_parisi,
    sk_parisi_functional,
)
from .plotting import (
    MAX_PLOT_INDICES,
    SKTheory,
    plot_complexity,
    plot_ground_state_fit,
    plot_ising_mc,
    plot_overlap_distribution,
    plot_sk_at_line,
    plot_sk_thermodynamics,
    plot_spherical_levels,
    plot_spherical_statics,
    sk_theory_curves,
)
from .replica import (
    SK_GROUND_STATE_RS,
    SKRSResult,
    sk_at_temperature,
    sk_replicon,
    sk_rs_free_energy,
)
from .sample import (
    MAX_ENTRIES,
    MAX_GD_WORK,
    MAX_NEWTON_WORK,
    CriticalPoints,
    GDResult,
    PSpinHamiltonian,
    critical_points,
    energy,
    gradient_descent,
    riemannian_gradient,
    riemannian_hessian,
    sample_hamiltonian,
)
from .spherical_statics import (
    SPHERICAL_MEASURES,
    SphericalGroundState,
    SphericalStatics,
    SphericalThreshold,
    SphericalTransition,
    abc_to_cs,
    cs_to_abc,
    spherical_1rsb,
    spherical_1rsb_functional,
    spherical_dynamic_transition,
    spherical_ground_state,
    spherical_rs_free_energy,
    spherical_static_transition,
    spherical_threshold,
    spherical_x_star,
)

__all__ = [
    "plot_ising_mc",
    "sk_theory_curves",
    "SKTheory",
    "plot_sk_thermodynamics",
    "plot_sk_at_line",
    "plot_overlap_distribution",
    "plot_ground_state_fit",
    "plot_spherical_statics",
    "plot_spherical_levels",
    "SPHERICAL_MEASURES",
    "SphericalStatics",
    "SphericalTransition",
    "SphericalGroundState",
    "SphericalThreshold",
    "cs_to_abc",
    "abc_to_cs",
    "spherical_rs_free_energy",
    "spherical_1rsb_functional",
    "spherical_1rsb",
    "spherical_x_star",
    "spherical_static_transition",
    "spherical_dynamic_transition",
    "spherical_threshold",
    "spherical_ground_state",
    "SKRSResult",
    "SK1RSBResult",
    "SKParisiResult",
    "SKGroundState",
    "sk_rs_free_energy",
    "sk_replicon",
    "sk_at_temperature",
    "sk_parisi_functional",
    "sk_parisi",
    "sk_1rsb",
    "sk_ground_state",
    "SK_GROUND_STATE_RS",
    "SK_GROUND_STATE_PARISI",
    "metropolis",
    "parallel_tempering",
    "temperature_ladder",
    "log_partition_ti",
    "sk_ground_state_extrapolation",
    "SpinMCResult",
    "TIResult",
    "GroundStateFit",
    "SK_GROUND_STATE",
    "MAX_MC_SWEEP_WORK",
    "MAX_ENUM_N",
    "ONSAGER_TC",
    "ONSAGER_BETA_C",
    "GibbsEnumeration",
    "Ising1D",
    "Ising2D",
    "enumerate_gibbs",
    "ising_1d",
    "ising_1d_correlation",
    "ising_2d_finite",
    "onsager",
    "onsager_free_energy",
    "yang_magnetisation",
    "sk_annealed",
    "spherical_annealed",
    "IsingLattice",
    "SKModel",
    "MixedSpherical",
    "sk_model",
    "mixed_spherical",
    "ising_energy",
    "spherical_energy",
    "spherical_gradient",
    "ChoromanskaResult",
    "CriticalPoints",
    "GDResult",
    "PSpinHamiltonian",
    "choromanska_experiment",
    "critical_points",
    "energy",
    "gradient_descent",
    "riemannian_gradient",
    "riemannian_hessian",
    "sample_hamiltonian",
    "MAX_ENTRIES",
    "MAX_EXACT_N",
    "MAX_EXACT_WORK",
    "MAX_GD_WORK",
    "MAX_MC_WORK",
    "MAX_NEWTON_WORK",
    "MAX_PLOT_INDICES",
    "MAX_TOTAL_N",
    "MCEstimate",
    "e_0",
    "e_inf",
    "e_k",
    "energy_table",
    "expected_critical_points",
    "expected_critical_points_mc",
    "expected_critical_points_total",
    "hessian_radius",
    "hessian_spectrum_pdf",
    "i1_delta",
    "index_fraction",
    "mixed_theta",
    "mixed_theta_density",
    "mixed_total_complexity",
    "plot_complexity",
    "rate_i1",
    "sample_goe",
    "theta",
    "theta_k",
]
