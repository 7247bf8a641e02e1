"""The install-time compile of the estimators' numba kernels (make install runs it)."""

from __future__ import annotations

from undercount.estimate import glm, lcmcr_sampler
from undercount.estimate.warm import compile_kernels
from undercount.link import posterior, posterior_kernel


def test_compile_kernels_compiles_the_sampler_and_the_poisson_fits() -> None:
    compile_kernels()
    # the entry points a case's estimate calls from Python now hold a compiled signature (from
    # numba's cache or compiled here; the kernels they call are compiled with them)
    assert lcmcr_sampler.run_chain.signatures
    assert glm._irls.signatures
    # the linkage's one-to-one round too, and the bound that keeps small runs on numpy is restored
    assert posterior_kernel.bp_components.signatures
    assert posterior.COMPILED_FROM == 100_000
