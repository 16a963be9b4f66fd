"""Random matrices and free probability.

Sign convention: ``G(z) = integral rho(t) / (z - t) dt`` (``Im G < 0`` above the real axis),
``M(z) = z G(z) - 1``, ``R(G(z)) + 1/G(z) = z``, ``S(m) = (1 + m)/(m M^{-1}(m))``.

* :mod:`~deeptheory.rmt.laws`: closed-form laws and transforms (Wigner semicircle,
  Marchenko-Pastur with its atom, Bernoulli ``D^2``, scaled Haar ``W^T W``).
* :mod:`~deeptheory.rmt.numerical`: laws known numerically (:class:`DiscreteLaw`, from a
  density, from moments, the law of ``phi'^2`` of an activation) and their G, M, R, S.
* :mod:`~deeptheory.rmt.free`: free additive and multiplicative convolution and free
  multiplicative powers by subordination with vertical continuation.
* :mod:`~deeptheory.rmt.jacobian`: moments m1, m2 of the input-output Jacobian spectrum,
  s_1, dynamical isometry, and a Monte Carlo sampler (Pennington, Schoenholz & Ganguli
  2017, 2018).
* :mod:`~deeptheory.rmt.spectrum`: the limiting density, distribution function, atoms and
  largest eigenvalue of ``J J^T`` for any activation, Gaussian or orthogonal weights.
"""

from deeptheory.rmt.free import (
    FreeConvolution,
    free_additive_convolution,
    free_multiplicative_convolution,
    free_multiplicative_power,
)
from deeptheory.rmt.jacobian import (
    DynamicalIsometry,
    JacobianMoments,
    dphi_moment,
    dynamical_isometry,
    jacobian_moments,
    s1,
    sample_jacobian_singular_values,
)
from deeptheory.rmt.laws import (
    bernoulli_moment,
    bernoulli_s,
    bernoulli_stieltjes,
    density_from_stieltjes,
    haar_s,
    marchenko_pastur_cdf,
    marchenko_pastur_moment,
    marchenko_pastur_pdf,
    marchenko_pastur_r,
    marchenko_pastur_s,
    marchenko_pastur_stieltjes,
    marchenko_pastur_support,
    moments_to_stieltjes,
    semicircle_cdf,
    semicircle_moment,
    semicircle_pdf,
    semicircle_r,
    semicircle_stieltjes,
)
from deeptheory.rmt.numerical import (
    DiscreteLaw,
    MarchenkoPasturLaw,
    SemicircleLaw,
    SpectralLaw,
    dphi2_law,
    inverse_moment_generating,
    inverse_stieltjes,
    law_from_density,
    law_from_moments,
    moment_generating,
    r_transform,
    s_transform,
    stieltjes,
)
from deeptheory.rmt.plotting import plot_jacobian_spectrum, plot_max_singular_value
from deeptheory.rmt.spectrum import (
    JacobianDensity,
    jacobian_atoms,
    jacobian_cdf,
    jacobian_density,
    jacobian_max_eigenvalue,
    jacobian_singular_value_density,
)

__all__ = [
    "plot_jacobian_spectrum",
    "plot_max_singular_value",
    "FreeConvolution",
    "free_additive_convolution",
    "free_multiplicative_convolution",
    "free_multiplicative_power",
    "DiscreteLaw",
    "MarchenkoPasturLaw",
    "SemicircleLaw",
    "SpectralLaw",
    "dphi2_law",
    "inverse_moment_generating",
    "inverse_stieltjes",
    "law_from_density",
    "law_from_moments",
    "moment_generating",
    "r_transform",
    "s_transform",
    "stieltjes",
    "JacobianDensity",
    "jacobian_atoms",
    "jacobian_cdf",
    "jacobian_singular_value_density",
    "jacobian_density",
    "jacobian_max_eigenvalue",
    "DynamicalIsometry",
    "JacobianMoments",
    "dphi_moment",
    "dynamical_isometry",
    "jacobian_moments",
    "s1",
    "sample_jacobian_singular_values",
    "bernoulli_moment",
    "bernoulli_s",
    "bernoulli_stieltjes",
    "density_from_stieltjes",
    "haar_s",
    "marchenko_pastur_cdf",
    "marchenko_pastur_moment",
    "marchenko_pastur_pdf",
    "marchenko_pastur_r",
    "marchenko_pastur_s",
    "marchenko_pastur_stieltjes",
    "marchenko_pastur_support",
    "moments_to_stieltjes",
    "semicircle_cdf",
    "semicircle_moment",
    "semicircle_pdf",
    "semicircle_r",
    "semicircle_stieltjes",
]
