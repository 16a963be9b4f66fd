"""Signal propagation in wide random networks (Poole et al. 2016; Schoenholz et al. 2017).

Conventions: W_ij ~ N(0, sigma_w2 / N), b_i ~ N(0, sigma_b2) (variances, not
standard deviations); q is the mean squared pre-activation; z ~ N(0, 1).

Maps and fixed points: :func:`q_map`, :func:`q_star`, :func:`c_map`, :func:`c_star`.
Susceptibilities and depth scales: :func:`chi1`, :func:`chi2`, :func:`chi_c`,
:func:`xi_q`, :func:`xi_c`, :func:`xi_grad`.  Geometry: :func:`curvature`.
Phase structure: :func:`critical_line`, :func:`phase_diagram`.
Residual networks (Yang & Schoenholz 2017; Hayou et al. 2021): :func:`resnet_recursion`,
the closed growth laws ``resnet_relu_*`` / ``resnet_linear_*``, :func:`simulate_resnet`.
Infinite-width kernels (:mod:`.widekernels`): :func:`network_kernels`, :func:`nngp_kernel`,
:func:`ntk_kernel`, :func:`dot_product_kernel`; :func:`kernel_diagnostics` (condition
numbers vs depth, named by the phase); their finite-width estimates
:func:`empirical_nngp`, :func:`empirical_ntk`; regression with them: :func:`gp_posterior`,
:func:`ntk_mean_prediction` (Lee et al. 2019), :func:`ntk_gp_prediction`.

Finite networks (Monte Carlo checks of the above, defined in
:mod:`deeptheory.meanfield.simulate` and imported here): :func:`simulate_layers`,
:func:`simulate_q_star`, :func:`simulate_c_star`, :func:`simulate_chi1`,
:func:`simulate_chi_c`, :func:`simulate_transition`, :func:`simulate_curvature`; each
returns :class:`MCEstimate` (= :class:`deeptheory.Estimate`: value, stderr, n) values.
They take scalar parameters (no broadcasting) and ``seed`` = int, numpy Generator or None.

Every other function broadcasts over its parameters (``layer_recursion`` too; its
outputs have shape (depth, *broadcast_shape)); ``phase_diagram`` takes two 1-D grids.
"""

from ._solve import ConvergenceError
from .cmap import c_map, c_map_slope, c_star, chi_c
from .curvature import Curvature, curvature
from .depth import chi1, chi2, depth_scale, xi_c, xi_grad, xi_q
from .empirical import empirical_nngp, empirical_ntk
from .gp import (
    GPPosterior,
    NTKGPPrediction,
    NTKPrediction,
    gp_posterior,
    ntk_gp_prediction,
    ntk_mean_prediction,
)
from .kerneldiag import DegenerateKernelWarning, KernelDiagnostics, kernel_diagnostics
from .phase import PhaseDiagram, critical_line, phase_diagram
from .qmap import q_map, q_map_slope, q_star
from .recursion import LayerRecursion, layer_recursion
from .resnet import (
    ResNetRecursion,
    branch_scale,
    resnet_linear_growth,
    resnet_linear_slope,
    resnet_recursion,
    resnet_relu_factor,
    resnet_relu_length,
    resnet_relu_scaled_limit,
)
from .simulate import (
    CurvatureSimulation,
    LayerSimulation,
    MCEstimate,
    TransitionScan,
    curve_geometry,
    make_circle,
    make_inputs,
    simulate_c_star,
    simulate_chi1,
    simulate_chi_c,
    simulate_curvature,
    simulate_layers,
    simulate_q_star,
    simulate_transition,
)
from .simulate_resnet import ResNetSimulation, resnet_inputs, simulate_resnet
from .widekernels import (
    DotProductKernel,
    NetworkKernels,
    dot_product_kernel,
    network_kernels,
    nngp_kernel,
    ntk_kernel,
)

__all__ = [
    "ConvergenceError",
    "ResNetRecursion",
    "ResNetSimulation",
    "branch_scale",
    "resnet_inputs",
    "resnet_linear_growth",
    "resnet_linear_slope",
    "resnet_recursion",
    "resnet_relu_factor",
    "resnet_relu_length",
    "resnet_relu_scaled_limit",
    "simulate_resnet",
    "DegenerateKernelWarning",
    "DotProductKernel",
    "KernelDiagnostics",
    "NetworkKernels",
    "GPPosterior",
    "NTKGPPrediction",
    "NTKPrediction",
    "gp_posterior",
    "ntk_gp_prediction",
    "ntk_mean_prediction",
    "dot_product_kernel",
    "empirical_nngp",
    "empirical_ntk",
    "kernel_diagnostics",
    "network_kernels",
    "nngp_kernel",
    "ntk_kernel",
    "Curvature",
    "CurvatureSimulation",
    "LayerRecursion",
    "LayerSimulation",
    "MCEstimate",
    "PhaseDiagram",
    "TransitionScan",
    "c_map",
    "c_map_slope",
    "c_star",
    "chi1",
    "chi2",
    "chi_c",
    "critical_line",
    "curvature",
    "curve_geometry",
    "depth_scale",
    "layer_recursion",
    "make_circle",
    "make_inputs",
    "phase_diagram",
    "q_map",
    "q_map_slope",
    "q_star",
    "simulate_c_star",
    "simulate_chi1",
    "simulate_chi_c",
    "simulate_curvature",
    "simulate_layers",
    "simulate_q_star",
    "simulate_transition",
    "xi_c",
    "xi_grad",
    "xi_q",
]
