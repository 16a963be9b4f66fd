"""One API across the pillars: result types, the estimate type, errors, seeds."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import inspect
import warnings

import numpy as np
import pytest

import deeptheory
from deeptheory._api import (
    ConvergenceError,
    Estimate,
    Result,
    as_rng,
    as_seed,
    check_on_fail,
    report_nonconvergence,
)

PILLARS = ["kernels", "meanfield", "rmt", "spinglass", "infotheory", "dynamics"]
# configuration objects (the systems a dynamics estimator runs), not result records
CONFIGS = {"DiscreteRNN", "RateNetwork", "DeepMap", "MapSystem", "FlowSystem", "MLPField",
           "TrainConfig", "BilinearGame", "DiracGAN",
           "GaussianMixture", "ForwardProcess"}


def _public_classes():
    for p in PILLARS:
        mod = importlib.import_module(f"deeptheory.{p}")
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if inspect.isclass(obj):
                yield p, name, obj


def test_every_result_type_is_a_frozen_result_dataclass():
    """No NamedTuples, no plain classes: each public record type is a Result dataclass."""
    seen = 0
    for p, name, cls in _public_classes():
        if issubclass(cls, BaseException) or name in ("Activation",) or p == "rmt" and (
            name.endswith("Law")
        ) or p == "dynamics" and name in CONFIGS:
            continue
        assert not (issubclass(cls, tuple) and hasattr(cls, "_fields")), f"{p}.{name} NamedTuple"
        if dataclasses.is_dataclass(cls):
            assert issubclass(cls, Result), f"{p}.{name} is not a deeptheory Result"
            assert cls.__dataclass_params__.frozen, f"{p}.{name} is not frozen"
            seen += 1
    assert seen >= 15


def test_result_unpacks_indexes_and_replaces():
    @dataclasses.dataclass(frozen=True)
    class R(Result):
        a: float
        b: float = 2.0

    r = R(1.0)
    x, y = r
    assert (x, y) == (1.0, 2.0) and r[1] == 2.0 and len(r) == 2
    assert r._asdict() == {"a": 1.0, "b": 2.0} and r._replace(b=5.0).b == 5.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.a = 3.0  # type: ignore[misc]


def test_one_estimate_one_error_everywhere():
    import deeptheory.infotheory as it
    import deeptheory.meanfield as mf
    import deeptheory.spinglass as sg

    assert mf.MCEstimate is Estimate and sg.MCEstimate is Estimate and it.MIEstimate is Estimate
    assert deeptheory.Estimate is Estimate and deeptheory.ConvergenceError is ConvergenceError
    assert mf.ConvergenceError is ConvergenceError
    assert issubclass(ConvergenceError, RuntimeError)
    assert not hasattr(sg, "semicircle_cdf")  # one semicircle CDF: rmt.semicircle_cdf


def test_estimate_from_samples_matches_numpy():
    s = np.random.default_rng(3).standard_normal((50, 2))
    e = Estimate.from_samples(s)
    np.testing.assert_allclose(e.value, s.mean(0), rtol=1e-15)
    np.testing.assert_allclose(e.stderr, s.std(0, ddof=1) / np.sqrt(50), rtol=1e-15)
    assert e.n == 50 and e.mean is e.value
    v, se = Estimate.from_samples(s[:, 0])
    assert isinstance(v, float) and se > 0
    assert Estimate.from_samples(s[:, 0]).zscore(v) == 0.0
    with pytest.raises(ValueError, match="at least 2"):
        Estimate.from_samples([1.0])


def test_seed_convention():
    g = np.random.default_rng(5)
    assert as_rng(g) is g
    assert as_rng(7).integers(1 << 30) == np.random.default_rng(7).integers(1 << 30)
    assert isinstance(as_rng(None), np.random.Generator)
    assert as_seed(11) == 11
    assert as_seed(np.random.default_rng(1)) == int(np.random.default_rng(1).integers(0, 2**31))
    for bad, exc in ((-1, ValueError), (1.5, TypeError), ("3", TypeError), (True, TypeError)):
        with pytest.raises(exc, match="seed"):
            as_rng(bad)
        with pytest.raises(exc, match="seed"):
            as_seed(bad)


def test_on_fail_policy():
    assert check_on_fail("warn") == "warn"
    with pytest.raises(ValueError, match="on_fail"):
        check_on_fail("quiet")
    with pytest.raises(ConvergenceError, match="stopped"):
        report_nonconvergence("stopped", "raise")
    with pytest.warns(RuntimeWarning, match="stopped"):
        report_nonconvergence("stopped", "warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report_nonconvergence("stopped", "ignore")


def test_version():
    assert deeptheory.__version__ == importlib.metadata.version("deeptheory")
