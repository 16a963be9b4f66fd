"""Theory beside simulation: every quantity the toolkit both predicts and measures.

:func:`verify` runs a registry of checks for one configuration (:class:`VerifyConfig`) or a
list of them and returns a :class:`VerifyReport`: one row per quantity with the theory
value, the simulation mean, its standard error, z = (simulation - theory) / stderr, the
finite-size allowance and a verdict.  ``print(report)`` shows the table,
``report.to_markdown("report.md")`` writes it with figures, ``report.to_dataset()`` gives
an ``xarray.Dataset``; ``deeptheory verify`` on the command line (:func:`main_verify`)
exits with status 1 when a row fails, so the report doubles as a regression check.

Verdict rule
------------
PASS iff |simulation - theory| <= k * stderr + allowance, k = 4 by default.  The standard
error is always measured: std(ddof=1) / sqrt(n) over n >= 16 independent samples
(networks, Hamiltonians, data sets; P(|t_15| > 4) = 1.2e-3 per row) or, for Markov chains
and long trajectories, the blocking (Flyvbjerg & Petersen 1989) or batch-means error.  The
allowance is a finite-size term stated per quantity, never fitted to make a row pass:

=====================  =================================================  =========================
check                  quantity: theory vs simulation                     allowance
=====================  =================================================  =========================
meanfield.layers       q^l, c^l (Poole et al. 2016): ``layer_recursion``  3 max(1, |theory|) / N
                       vs ``simulate_layers``
meanfield.fixed_points q*, chi_1, chi_c, c* (Schoenholz et al. 2017):     3 max(1, |theory|) / N
                       ``q_star``, ``chi1``, ``chi_c``, ``c_star`` vs
                       ``simulate_q_star``, ``simulate_chi1``,
                       ``simulate_chi_c``, ``simulate_c_star``
meanfield.curvature    g^l, kappa_l^2 (Poole et al. 2016, eqs. 9-10):      (3/N + 0.005) |theory|,
                       ``curvature`` vs ``simulate_curvature``             (8 l/N + 0.005) |theory|
meanfield.resnet       p^l, c^l, gradient growth (Yang & Schoenholz        2 l/N |theory|,
                       2017; Hayou et al. 2021): ``resnet_recursion`` vs   (L - l)/N |theory|
                       ``simulate_resnet``
meanfield.kernels      NNGP (Lee et al. 2018), NTK (Jacot et al. 2018):    2 (L-1)/N sqrt(K_ii K_jj)
                       ``network_kernels`` vs ``empirical_nngp``,
                       ``empirical_ntk``
rmt.jacobian           m1, m2 (Pennington, Schoenholz & Ganguli 2017,      L/N |m1|, 4 L/N |m2|;
                       2018): ``jacobian_moments`` vs                      KS: 2/N (+ atom term)
                       ``sample_jacobian_singular_values``; KS distance
                       to ``jacobian_cdf``
dynamics.lyapunov      lambda_max = 1/2 ln chi_1: ``rnn_max_exponent`` vs  (3 mu2/mu1^2 - 3 - 2 s_1)
                       ``lyapunov_spectrum(DeepMap)``                      / (4N)
spinglass.critical_    E Crt_{N,k} (Auffinger, Ben Arous & Cerny 2013):    0
points                 ``expected_critical_points`` vs ``critical_points``
spinglass.kac_rice     the same exact count vs                             0
                       ``expected_critical_points_mc`` (GOE sampling)
spinglass.gibbs        <H>/N, C, <m^2> of an SK sample (Sherrington &      0
                       Kirkpatrick 1975): ``enumerate_gibbs`` vs
                       ``metropolis``
infotheory.ksg         I of a Gaussian pair: ``gaussian_mi_bivariate`` vs  0
                       ``ksg_mi`` (Kraskov et al. 2004)
infotheory.plugin      I of a 4 x 4 channel: ``mutual_information`` vs     (|X|-1)(|Y|-1)/(2N)
                       ``discrete_mi``
=====================  =================================================  =========================

Where the allowances come from (N the width, L the depth, l the layer):

* Mean field: given layer l - 1 the pre-activations are exactly Gaussian with the layer's
  empirical variance, which fluctuates by O(N^-1/2) about the mean-field q; through the
  nonlinear maps that is an O(1/N) bias (second order).  The constant 3 is the one of the
  package's Monte Carlo tests (``tests/test_simulate.py``), where the bound is derived for
  the bounded tanh.  Curvature: 0.005 is the measured error of the 4th-order stencil at
  96 points and depth <= 4, and the O(l kappa_l^2 / N) bias of the nonlinear curvature
  estimate was measured at 2.5-5 l / N (8 allowed).  Residual networks and kernels: the
  O(l / N) and O((L - 1) / N) biases of Hanin & Nica 2019 with the constants measured in
  the package's tests (see ``docs/resnet_kernels.md``).
* Jacobian moments: the product of L layers accumulates an O(1/N) relative bias per
  layer; measured (600 networks each; tanh at sigma_w^2 = 1.5 and 2.5, relu, linear;
  N = 50, 100; L = 4, 8) |bias| <= 0.5 L/N for m1 and <= 3.0 +- 0.5 L/N for m2 (allowed
  1 and 4).  The KS row reports the Dvoretzky-Kiefer-Wolfowitz bound at level
  2 Phi(-4) = 6.3e-5 as 4 "standard errors" (conservative: eigenvalues repel), plus 2/N,
  plus, where J J^T has an atom at 0 (relu, hard_tanh), the O(N^-1/2) fluctuation of the
  rank min_l (active units of layer l).
* Lyapunov exponent: with fresh isotropic weights in every layer the top exponent is
  E[1/2 ln |D W u|^2] for a fixed unit vector u; expanding the logarithm of a mean of N
  terms gives 1/2 ln chi_1 - (3 mu2/mu1^2 - 3 - 2 s_1)/(4N) + O(N^-2), mu_k =
  E[phi'(sqrt(q*) z)^(2k)], s_1 = -1 (Gaussian) or 0 (orthogonal); for a product of
  Gaussian matrices this is Newman's exact -1/(2N).  Measured gaps (12 runs each): 1.06-
  1.16 times this offset (tanh, relu; N = 50, 100).  The recurrent network with one
  reused W is not checked: its finite-width gap is larger and not derived.
* Spin glasses: the exact count and the Gibbs averages have no finite-size term (the
  simulations sample the same finite system); multistart Newton can only undercount.
* Information theory: KSG has no allowance (its bias for a Gaussian pair at rho = 0.6 was
  measured at +0.004 +- 0.002 nats at 1000 points and +0.012 +- 0.003 at 500, inside
  4 standard errors of 16 data sets); the plug-in estimator's leading bias is the
  Miller-Madow term.

Checks of quantities a configuration does not define (q* = inf, chi_2 = inf for relu,
c* = 1 in the ordered phase) are listed as skipped with the reason.  A check that raises
is a FAIL row named "(error)".  New checks: :func:`register_check`.
"""

from ._cli import main_verify
from ._core import (
    K_DEFAULT,
    PILLARS,
    QUICK_LIMITS,
    Check,
    CheckOutput,
    Comparison,
    Profile,
    Row,
    Skip,
    VerifyConfig,
    list_checks,
    register_check,
    unregister_check,
    verdict,
    verify,
)
from ._report import VerifyReport

__all__ = [
    "Check",
    "CheckOutput",
    "Comparison",
    "K_DEFAULT",
    "PILLARS",
    "Profile",
    "QUICK_LIMITS",
    "Row",
    "Skip",
    "VerifyConfig",
    "VerifyReport",
    "list_checks",
    "main_verify",
    "register_check",
    "unregister_check",
    "verdict",
    "verify",
]
