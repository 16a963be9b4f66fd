"""Information theory of representations: exact values and sample estimators.

Conventions (all functions):

* **Units**: nats by default; every function takes ``base`` (``base=2``: bits).
* Samples are arrays with samples along the first axis: (N,) or (N, d).
* Bad input (mismatched sample counts, too few samples, non-finite values, a pmf
  with negative entries or not summing to 1, n_bins < 1, noise_var <= 0) raises
  ValueError naming the argument.

Contents:

* :mod:`.discrete` -- entropy, I(X;Y), I(X;Y|Z) of joint pmf arrays; empirical
  pmfs and plug-in estimates from discrete samples (with a seeded bootstrap stderr).
* :mod:`.gaussian` -- closed forms for Gaussian vectors (ground truths):
  h = 1/2 ln det(2 pi e S), I = 1/2 [ln det S_xx + ln det S_yy - ln det S],
  bivariate -1/2 ln(1 - rho^2).
* :mod:`.binning` -- binned I(X;T), I(T;Y) of a layer (Shwartz-Ziv & Tishby 2017).
* :mod:`.kde` -- Kolchinsky-Tracey pairwise-distance bounds on I(X;T) for
  T = h(X) + N(0, s^2 I) (Saxe et al. 2018), and Saxe et al.'s I(T;Y) estimate
  (a difference of upper bounds: not a bound).
* :func:`ksg_mi` (alias :func:`ksg`) -- Kraskov-Stoegbauer-Grassberger k-NN estimator
  (algorithms 1, 2) with documented tie-breaking jitter (module ``._ksg``).
* :mod:`.bottleneck` -- the information bottleneck method (Tishby, Pereira & Bialek
  1999): minimise L = I(X;T) - beta I(T;Y) by the iterative algorithm with restarts,
  the IB curve by deterministic annealing in both directions (Rose 1998), and the
  Gaussian IB of Chechik et al. (2005) in closed form.

Names: information values are ``i_xt`` = I(X;T) and ``i_ty`` = I(T;Y) everywhere
(results, arguments and the command line's ``.npz`` keys); estimates with an error bar are
:class:`deeptheory._api.Estimate` (``MIEstimate`` is an alias); every ``seed`` takes an
int >= 0, a numpy Generator or None.
* :mod:`.task12`, :mod:`.mlp`, :mod:`.plane` -- the 12-bit task of Shwartz-Ziv & Tishby
  (2017), a numpy MLP trainer that records every layer, and the information plane of a
  training network by binning or KDE (Saxe et al. 2018).
"""

from ._ksg import add_jitter, ksg, ksg_mi
from .binning import BinnedMI, bin_layer, binned_mi
from .bottleneck import (
    IBCurve,
    IBSolution,
    gaussian_ib_critical_betas,
    gaussian_ib_curve,
    ib_curve,
    information_bottleneck,
)
from .discrete import (
    MIEstimate,
    conditional_mutual_information,
    discrete_entropy,
    discrete_mi,
    discrete_mi_bootstrap,
    entropy,
    joint_from_samples,
    mutual_information,
)
from .gaussian import gaussian_entropy, gaussian_mi, gaussian_mi_bivariate
from .kde import MIBounds, kde_mi_lower, kde_mi_ty, kde_mi_upper, pairwise_mi_bounds
from .mlp import TrainingRun, train_mlp
from .plane import InformationPlane, information_plane, plot_information_plane
from .task12 import Task12, twelve_bit_task

__all__ = [
    "IBCurve",
    "IBSolution",
    "InformationPlane",
    "Task12",
    "TrainingRun",
    "gaussian_ib_critical_betas",
    "gaussian_ib_curve",
    "ib_curve",
    "information_bottleneck",
    "information_plane",
    "plot_information_plane",
    "train_mlp",
    "twelve_bit_task",
    "BinnedMI",
    "MIBounds",
    "MIEstimate",
    "add_jitter",
    "bin_layer",
    "binned_mi",
    "conditional_mutual_information",
    "discrete_entropy",
    "discrete_mi",
    "discrete_mi_bootstrap",
    "entropy",
    "gaussian_entropy",
    "gaussian_mi",
    "gaussian_mi_bivariate",
    "joint_from_samples",
    "kde_mi_lower",
    "kde_mi_ty",
    "kde_mi_upper",
    "ksg",
    "ksg_mi",
    "mutual_information",
    "pairwise_mi_bounds",
]
