"""Compiled core: activation registry, Gaussian quadrature kernels, Monte Carlo loops.

Knows nothing about networks: it computes Gaussian expectations of activation
functions and runs seeded sampling loops.  The mathematics lives in
:mod:`deeptheory.meanfield`.
"""

from .activations import Activation, get_activation, list_activations, register_activation
from .mehler import series_gram
from .montecarlo import (
    NetworkSample,
    ResNetSample,
    propagate_batch,
    sample_network,
    sample_parameters,
    sample_resnet,
    sample_resnet_parameters,
)
from .quadrature import (
    expect,
    expect2,
    expect2_joint,
    expect2_pair,
    expect2_sqdiff,
    expect_moments,
    gaussian_rule,
    hermite_coefficients,
    hermite_rule,
    legendre_rule,
    order_for_rtol,
)
from .stieltjes import stieltjes_sum

__all__ = [
    "Activation",
    "NetworkSample",
    "ResNetSample",
    "sample_parameters",
    "sample_resnet",
    "sample_resnet_parameters",
    "propagate_batch",
    "sample_network",
    "expect",
    "expect2",
    "expect2_sqdiff",
    "expect2_pair",
    "expect2_joint",
    "series_gram",
    "expect_moments",
    "hermite_coefficients",
    "order_for_rtol",
    "gaussian_rule",
    "stieltjes_sum",
    "get_activation",
    "hermite_rule",
    "legendre_rule",
    "list_activations",
    "register_activation",
]
