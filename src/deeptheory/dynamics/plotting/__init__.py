"""Matplotlib figures of the dynamics pillar.

* Lyapunov spectra against the large-width theory: :func:`plot_lyapunov_spectrum`,
  :func:`plot_running_exponents`, :func:`plot_lambda_max`.
* ODE flows of networks (issue 13): trajectories of a trained classifier
  :func:`plot_trajectories`, convergence order of ResNets to the ODE
  :func:`plot_resnet_order`, the Gronwall envelope :func:`plot_gronwall`, and line-shape /
  OT scores over training :func:`plot_geodesic_history`.
* Training as a dynamical system (issue 14): stability regions and rates of GD, heavy
  ball and Nesterov on quadratics :func:`plot_stability_region`, the local error order of
  GD against the plain and modified flows :func:`plot_local_error_order`, the energy of
  leapfrog and explicit Euler :func:`plot_energy`, phase planes of min-max game methods
  :func:`plot_game_trajectories`, and SGD's drift and diffusion phases
  :func:`plot_sgd_phases`, :func:`plot_gradient_snr`; diffusion models: generated
  samples over the target's density contours :func:`plot_diffusion_samples` and the
  error of the probability-flow ODE against the number of steps :func:`plot_flow_order`.

matplotlib is imported inside the functions (``import deeptheory.dynamics`` does not load
it); each function draws on ``ax`` (a new figure when None) and returns the Axes (an array
of Axes for :func:`plot_geodesic_history`, :func:`plot_sgd_phases` and the two-game
panels of :func:`plot_game_trajectories`).
"""

from __future__ import annotations

from ._diffusion import FLOW_COLOURS as FLOW_COLOURS
from ._diffusion import HDR_MASSES as HDR_MASSES
from ._diffusion import SCHEME_NAMES as SCHEME_NAMES
from ._diffusion import plot_diffusion_samples, plot_flow_order
from ._games import METHOD_COLOURS as METHOD_COLOURS
from ._games import METHOD_NAMES as METHOD_NAMES
from ._games import METHOD_WIDTHS as METHOD_WIDTHS
from ._games import plot_game_trajectories
from ._lyapunov import plot_lambda_max, plot_lyapunov_spectrum, plot_running_exponents
from ._odeflow import LABEL_COLOURS as LABEL_COLOURS
from ._odeflow import SCORE_NAMES as SCORE_NAMES
from ._odeflow import UNLABELLED_COLOUR as UNLABELLED_COLOUR
from ._odeflow import (
    plot_geodesic_history,
    plot_gronwall,
    plot_resnet_order,
    plot_trajectories,
)
from ._optimizers import RATE_LEVELS as RATE_LEVELS
from ._optimizers import plot_energy, plot_local_error_order, plot_stability_region
from ._sgd import plot_gradient_snr, plot_sgd_phases

__all__ = [
    "plot_energy",
    "plot_game_trajectories",
    "plot_gradient_snr",
    "plot_local_error_order",
    "plot_sgd_phases",
    "plot_stability_region",
    "plot_lyapunov_spectrum",
    "plot_running_exponents",
    "plot_lambda_max",
    "plot_trajectories",
    "plot_resnet_order",
    "plot_gronwall",
    "plot_geodesic_history",
    "plot_diffusion_samples",
    "plot_flow_order",
]
