"""Depth and time as dynamical systems (seeds 000, 001, 003).

Lyapunov spectra and the edge of chaos (this module's first part):

* Systems (:mod:`.systems`): :class:`DiscreteRNN` h_{t+1} = W phi(h_t) + b (+ u_t) and
  :func:`random_rnn`; the continuous-time :class:`RateNetwork` tau h' = -h + J phi(h) and
  :func:`random_rate_network`; the depth map with fresh weights per layer :class:`DeepMap`;
  user maps and flows :class:`MapSystem`, :class:`FlowSystem` (f and its Jacobian).
* Estimation: :func:`lyapunov_spectrum` (QR / Benettin method on a compiled loop) returns a
  :class:`LyapunovSpectrum`: exponents, batch-means standard errors, running estimates,
  Kaplan-Yorke dimension, KS entropy, participation ratio of the leading vector.
* Theory (:mod:`.theory`): mean-field largest exponent :func:`rnn_max_exponent`
  (= 1/2 ln chi_1) and :func:`critical_gain`; the free-probability spectrum of the
  fresh-weights map :func:`fresh_weights_quantile`, :func:`fresh_weights_exponents`;
  Newman's exact spectrum of Gaussian products :func:`newman_exponents`;
  :func:`kaplan_yorke_dimension`, :func:`ks_entropy`, :func:`exponent_sum`.

Figures (:mod:`.plotting`, matplotlib imported on first use): :func:`plot_lyapunov_spectrum`,
:func:`plot_running_exponents`, :func:`plot_lambda_max`; :func:`plot_trajectories`,
:func:`plot_resnet_order`, :func:`plot_gronwall`, :func:`plot_geodesic_history`;
:func:`plot_stability_region`, :func:`plot_local_error_order`, :func:`plot_energy`,
:func:`plot_game_trajectories`, :func:`plot_gradient_snr`, :func:`plot_sgd_phases`;
:func:`plot_diffusion_samples`, :func:`plot_flow_order`.

ODE flows of networks (issue 13, first part, :mod:`.odeflow`): :class:`MLPField`
f(z, t) = W2(t) phi(W1(t) z + b1(t)) + b2(t) and :func:`random_mlp_field`;
:func:`odeint_batch` integrates many initial points at once (compiled Euler, RK4 and
adaptive Dormand-Prince 5(4)) and returns an :class:`OdeSolution`.

ResNets as ODE discretisations (:mod:`.resnet_ode`): :func:`resnet_flow`,
:func:`resnet_ode_error` (global error and order against depth), :func:`adjoint_gradients`
(Chen et al. 2018) and :func:`backprop_gradients`.  Theorem checks (:mod:`.theorems`):
:func:`lipschitz_bound`, :func:`gronwall_check`, :func:`trajectories_cross`, and invertible
residual blocks (Behrmann et al. 2019) :func:`spectral_normalise`, :func:`iresblock_forward`,
:func:`iresblock_inverse`.

Trained examples (:mod:`.node_classifier`, :mod:`.toydata`): :func:`ring_data`,
:func:`spiral_data`, :func:`augment`; :func:`train_ode_classifier` (numpy Adam on exact
gradients of the discrete network, :class:`TrainConfig`) returns an :class:`OdeClassifier`;
:func:`ring_separation` (a 2-D flow cannot separate the ring: :func:`winding_number`,
:func:`flow_map_lipschitz`), :func:`readout_margin`, :func:`geodesic_scores`.

Training as a dynamical system (issue 14): optimisers as maps and flows
(:mod:`.optimizers`: :func:`gradient_descent`, :func:`heavy_ball`, :func:`nesterov`, their
stability regions and rates on quadratics, continuous limits, backward error analysis
:func:`local_error_order`), frictionless momentum as a Hamiltonian system
(:mod:`.hamiltonian`: :func:`leapfrog`, :func:`explicit_euler`), min-max games
(:mod:`.games`: :class:`BilinearGame`, :class:`DiracGAN` and their Jacobians;
:mod:`.game_spectra`: the spectra of the updates; :mod:`.game_dynamics`:
simultaneous, alternating, extragradient, optimistic and SGA iterations), and the drift and
diffusion phases of SGD
beside the information plane (:mod:`.sgd_phases`: :func:`sgd_phases`); score-based
diffusion on Gaussian-mixture data with exact scores (:mod:`.diffusion`: :class:`GaussianMixture`,
:class:`ForwardProcess`, :func:`marginal`, :func:`probability_flow_sample` on the shared
compiled integrator, :func:`reverse_sde_sample`, :func:`compare_to_target`,
:func:`flow_error_order`).

Optimal transport (:mod:`.transport`): :func:`ot_assignment`, :func:`wasserstein2`,
:func:`gaussian_w2`, :func:`displacement_interpolation`; the geodesic diagnostics of layer
outputs :func:`line_shape_score`, :func:`ot_score`, :func:`track_distance`,
:func:`track_distance_bound` (Gai & Zhang 2021).

Units: exponents in nats per step (maps) or per unit time (flows), sorted descending.
"""

from .diffusion import (
    DiffusionSamples,
    FlowOrder,
    ForwardProcess,
    GaussianMixture,
    SampleCheck,
    compare_to_target,
    flow_error_order,
    marginal,
    marginal_score,
    probability_flow_sample,
    reverse_sde_sample,
)
from .game_dynamics import (
    GameFigureData,
    GameTrajectory,
    alternating_gd,
    extragradient,
    game_trajectories,
    optimistic_gd,
    sga_gd,
    simultaneous_gd,
)
from .game_spectra import (
    UpdateSpectrum,
    bilinear_eigenvalues,
    bilinear_regime,
    norm_growth_rate,
    update_jacobian,
    update_spectrum,
)
from .games import (
    BilinearGame,
    DiracGAN,
    JacobianDecomposition,
    alternating_invariant,
    decompose_jacobian,
    dirac_gan_eigenvalues,
    numerical_jacobian,
    sga_alignment_sign,
    symplectic_gradient_adjustment,
)
from .hamiltonian import (
    HamiltonianTrajectory,
    explicit_euler,
    hamiltonian_energy,
    leapfrog,
)
from .lyapunov import FrameCollapseWarning, LyapunovSpectrum, lyapunov_spectrum
from .node_classifier import (
    GeodesicScores,
    OdeClassifier,
    RingCheck,
    TrainConfig,
    geodesic_scores,
    readout_margin,
    ring_separation,
    train_ode_classifier,
)
from .odeflow import MLPField, OdeSolution, StepUnderflowWarning, odeint_batch, random_mlp_field
from .optimizers import (
    FlowTrajectory,
    LocalErrorOrder,
    OptimalParameters,
    OptimizerTrajectory,
    StabilityGrid,
    gradient_descent,
    gradient_flow,
    heavy_ball,
    heavy_ball_limit,
    local_error_order,
    max_stable_step,
    modified_loss,
    modified_loss_gradient,
    momentum_flow,
    nesterov,
    nesterov_flow,
    optimal_gd,
    optimal_heavy_ball,
    quadratic_rate,
    stability_grid,
    stable_region,
)
from .plotting import (
    plot_diffusion_samples,
    plot_energy,
    plot_flow_order,
    plot_game_trajectories,
    plot_geodesic_history,
    plot_gradient_snr,
    plot_gronwall,
    plot_lambda_max,
    plot_local_error_order,
    plot_lyapunov_spectrum,
    plot_resnet_order,
    plot_running_exponents,
    plot_sgd_phases,
    plot_stability_region,
    plot_trajectories,
)
from .resnet_ode import (
    FieldGradients,
    ResNetOdeError,
    adjoint_gradients,
    backprop_gradients,
    resnet_flow,
    resnet_ode_error,
)
from .sgd_phases import (
    GradientSNR,
    SGDPhases,
    compression_start_epoch,
    gradient_snr_history,
    log_running_median,
    phase_transition_epoch,
    sgd_phases,
)
from .systems import (
    DeepMap,
    DiscreteRNN,
    FlowSystem,
    MapSystem,
    RateNetwork,
    random_rate_network,
    random_rnn,
)
from .theorems import (
    CrossingCheck,
    GronwallCheck,
    IResInverse,
    activation_lipschitz,
    flow_map_lipschitz,
    gronwall_check,
    iresblock_forward,
    iresblock_inverse,
    lipschitz_bound,
    spectral_normalise,
    trajectories_cross,
    winding_number,
)
from .theory import (
    critical_gain,
    exponent_sum,
    fresh_weights_exponents,
    fresh_weights_quantile,
    kaplan_yorke_dimension,
    ks_entropy,
    newman_exponents,
    rnn_max_exponent,
)
from .toydata import augment, ring_data, spiral_data
from .transport import (
    displacement_interpolation,
    gaussian_w2,
    line_shape_score,
    ot_assignment,
    ot_score,
    track_distance,
    track_distance_bound,
    wasserstein2,
)

__all__ = [
    "GaussianMixture",
    "ForwardProcess",
    "DiffusionSamples",
    "SampleCheck",
    "FlowOrder",
    "marginal",
    "marginal_score",
    "probability_flow_sample",
    "reverse_sde_sample",
    "compare_to_target",
    "flow_error_order",
    "FlowTrajectory",
    "LocalErrorOrder",
    "OptimalParameters",
    "OptimizerTrajectory",
    "StabilityGrid",
    "gradient_descent",
    "gradient_flow",
    "heavy_ball",
    "heavy_ball_limit",
    "local_error_order",
    "max_stable_step",
    "modified_loss",
    "modified_loss_gradient",
    "momentum_flow",
    "nesterov",
    "nesterov_flow",
    "optimal_gd",
    "optimal_heavy_ball",
    "quadratic_rate",
    "stability_grid",
    "stable_region",
    "HamiltonianTrajectory",
    "explicit_euler",
    "hamiltonian_energy",
    "leapfrog",
    "BilinearGame",
    "DiracGAN",
    "GameFigureData",
    "GameTrajectory",
    "JacobianDecomposition",
    "UpdateSpectrum",
    "alternating_gd",
    "alternating_invariant",
    "bilinear_eigenvalues",
    "bilinear_regime",
    "decompose_jacobian",
    "dirac_gan_eigenvalues",
    "extragradient",
    "game_trajectories",
    "norm_growth_rate",
    "numerical_jacobian",
    "optimistic_gd",
    "sga_alignment_sign",
    "sga_gd",
    "simultaneous_gd",
    "symplectic_gradient_adjustment",
    "update_jacobian",
    "update_spectrum",
    "GradientSNR",
    "SGDPhases",
    "compression_start_epoch",
    "gradient_snr_history",
    "log_running_median",
    "phase_transition_epoch",
    "sgd_phases",
    "GeodesicScores",
    "OdeClassifier",
    "RingCheck",
    "TrainConfig",
    "augment",
    "flow_map_lipschitz",
    "geodesic_scores",
    "readout_margin",
    "ring_data",
    "ring_separation",
    "spiral_data",
    "train_ode_classifier",
    "winding_number",
    "FieldGradients",
    "ResNetOdeError",
    "adjoint_gradients",
    "backprop_gradients",
    "resnet_flow",
    "resnet_ode_error",
    "CrossingCheck",
    "GronwallCheck",
    "IResInverse",
    "activation_lipschitz",
    "gronwall_check",
    "iresblock_forward",
    "iresblock_inverse",
    "lipschitz_bound",
    "spectral_normalise",
    "trajectories_cross",

    "displacement_interpolation",
    "gaussian_w2",
    "line_shape_score",
    "ot_assignment",
    "ot_score",
    "track_distance",
    "track_distance_bound",
    "wasserstein2",

    "DeepMap",
    "DiscreteRNN",
    "FlowSystem",
    "FrameCollapseWarning",
    "LyapunovSpectrum",
    "MLPField",
    "OdeSolution",
    "StepUnderflowWarning",
    "odeint_batch",
    "random_mlp_field",
    "MapSystem",
    "RateNetwork",
    "critical_gain",
    "exponent_sum",
    "fresh_weights_exponents",
    "fresh_weights_quantile",
    "kaplan_yorke_dimension",
    "ks_entropy",
    "lyapunov_spectrum",
    "newman_exponents",
    "plot_geodesic_history",
    "plot_sgd_phases",
    "plot_diffusion_samples",
    "plot_flow_order",
    "plot_gronwall",
    "plot_stability_region",
    "plot_local_error_order",
    "plot_energy",
    "plot_game_trajectories",
    "plot_gradient_snr",
    "plot_lambda_max",
    "plot_resnet_order",
    "plot_trajectories",
    "plot_lyapunov_spectrum",
    "plot_running_exponents",
    "random_rate_network",
    "random_rnn",
    "rnn_max_exponent",
]
