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
:func:`plot_running_exponents`, :func:`plot_lambda_max`.

Units: exponents in nats per step (maps) or per unit time (flows), sorted descending.
"""

from .lyapunov import FrameCollapseWarning, LyapunovSpectrum, lyapunov_spectrum
from .plotting import plot_lambda_max, plot_lyapunov_spectrum, plot_running_exponents
from .systems import (
    DeepMap,
    DiscreteRNN,
    FlowSystem,
    MapSystem,
    RateNetwork,
    random_rate_network,
    random_rnn,
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

__all__ = [
    "DeepMap",
    "DiscreteRNN",
    "FlowSystem",
    "FrameCollapseWarning",
    "LyapunovSpectrum",
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
    "plot_lambda_max",
    "plot_lyapunov_spectrum",
    "plot_running_exponents",
    "random_rate_network",
    "random_rnn",
    "rnn_max_exponent",
]
