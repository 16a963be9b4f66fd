"""deeptheory: a theory-first numerical toolkit for the mathematics of deep networks.

Subpackages
-----------
kernels     compiled core (Numba): activation registry, Gaussian quadrature, Monte Carlo loops
meanfield   signal propagation in wide random networks (Poole et al. 2016; Schoenholz et al. 2017)
rmt         random matrices and free probability (Pennington, Schoenholz, Ganguli 2017, 2018)
spinglass   spherical p-spin landscapes (Auffinger, Ben Arous, Cerny 2013)
infotheory  mutual information, the information bottleneck (Tishby et al. 1999; Kraskov 2004)

Shared across the pillars: :class:`Estimate` (value, stderr, n) for every Monte
Carlo or bootstrap estimate; :class:`ConvergenceError` for every iteration that
stops short (``on_fail="raise" | "warn" | "ignore"`` where a grid should go on);
``seed`` arguments take an int >= 0, a ``numpy.random.Generator`` or None.
"""

from ._api import ConvergenceError, Estimate

__version__ = "0.1.0"
__all__ = ["ConvergenceError", "Estimate", "__version__"]
