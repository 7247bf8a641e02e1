"""Estimate a linked case: capture tables per stratum, imputation of unknown strata, pooling, storage.

Pooling: every replicate (an imputation of unknown stratum values, crossed with an alternative
linkage when several cluster assignments are given) is estimated per stratum. A replicate's total
is the sum of its strata, its draws the sum of the strata's draws (posterior draws for Bayesian
methods, split log-normal draws matched to the interval otherwise). Replicates are pooled by
Rubin's rule for the point (the mean of the replicates' estimates) and by mixing their draws for the
interval (which adds the between-replicate spread to the within one). Identical replicates (e.g.
linkages that agree) are estimated once and counted once each; when all replicates are identical
the results are returned unchanged, so certain links give exactly the plain estimate.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from undercount.errors import ConfigError, ConvergenceWarning, StoreError
from undercount.estimate.auto import (
    approximate_draws,
    check_seed,
    fit_table,
    fixed_fits_known,
    fixed_fits_since,
    keep_fixed_fits,
    with_pooled_dependence,
)
from undercount.estimate.cputime import CpuMeter, cpu_meter
from undercount.estimate.diagnostics import grouped_ess, grouped_rhat
from undercount.estimate.histories import capture_matrix, capture_table, table_from_counts
from undercount.estimate.lcmcr import continued_chains, convergence_warning, out_of_budget, warm_starts
from undercount.estimate.population import STATUS_ORDER, Population, reconcile, select
from undercount.estimate.registry import Convergence, Fitting, choose
from undercount.estimate.results import NO_UPPER, EstimateResult
from undercount.estimate.strata import (
    default_strata,
    group_places,
    impute_strata,
    merge_sparse,
    parse_by,
    person_covariates,
    place_groups,
)
from undercount.estimate.warm import load_kernels
from undercount.estimate.workers import run_in_processes, stratum_processes
from undercount.store import Case
from undercount.store.releases import choose_releases
from undercount.store.runs import RunInputs, run_inputs

__all__ = ["StratifiedResult", "estimate_case", "estimate_matrix", "pooling_draws"]

POOL_DRAWS = 2000
#: The stratum fits of a run's passes: (stratum, method, options, seed, level) -> (table, persons) -> result.
Fitted = dict[tuple[Any, ...], dict[tuple[Any, ...], EstimateResult]]
NO_TOTAL_UPPER = f"a stratum has {NO_UPPER}: neither has the total"


@dataclass(frozen=True)
class StratifiedResult:
    """Per-stratum results and their total.

    Attributes:
        total: the pooled total over strata.
        strata: stratum label -> result (merged strata carry their merged label).
        by: the stratifying covariates; why: how they were chosen.
        notes: stratum label -> why it was merged (sparse strata).
        replicates: imputations x linkages estimated.
        run_id: the 'estimate' run that stored it, or None.
        population: who the estimate counts (one status, one kind of death).
        population_notes: how the population was drawn (persons whose status was reconciled,
            persons without a status, the lists that name anyone in it).
        matrix: the population's persons x lists matrix on the first linkage (not serialised).
        covariates: its persons' recorded covariates (age_group, sex, place, period; not serialised).
        replicate_totals: each replicate's own total (the sum of its strata), in the order of the
            linkages and imputations (not serialised; e.g. the linkage at a few thresholds estimated
            as the replicates of one pass, :mod:`undercount.estimate.thresholds`).
    """

    total: EstimateResult
    strata: dict[str, EstimateResult]
    by: list[str]
    why: str = ""
    notes: dict[str, str] = field(default_factory=dict)
    replicates: int = 1
    run_id: str | None = None
    population: Population = field(default_factory=Population)
    population_notes: dict[str, Any] = field(default_factory=dict)
    matrix: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    covariates: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    replicate_totals: tuple[EstimateResult, ...] = field(default=(), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The total's keys (documented, estimate, lower, upper, method, model, warnings) plus strata,
        and, when judged (:mod:`undercount.estimate.verdict`), ``verdict`` and ``range``."""
        data = self.total.to_dict()
        for key in ("verdict", "range", "breakdowns"):
            if key in self.total.details:
                data[key] = self.total.details[key]
        data["population"] = {**self.population.to_dict(), **self.population_notes}
        data["strata"] = {name: res.to_dict() for name, res in self.strata.items()}
        data.update(by=self.by, by_why=self.why, merged=self.notes, replicates=self.replicates, run_id=self.run_id)
        return data


def _unique_warnings(items: Iterable[str]) -> list[str]:
    """Warnings once each, counting texts that differ only in their numbers as the same."""
    seen: dict[str, str] = {}
    for text in items:
        seen.setdefault(re.sub(r"[\d,.]+", "#", text), text)
    return list(seen.values())


def _finite_upper(result: EstimateResult) -> float:
    """A finite stand-in for the upper end of a result that has none, to shape its draws below it.

    The largest finite upper end among the fits the result weighed (``details['checks']`` of an
    ``auto`` result), else the lower side mirrored on the log scale of the undocumented count.
    """
    estimate = float(result.estimate or result.documented)
    checks = result.details.get("checks", {})
    uppers = [float(c["upper"]) for c in checks.values() if isinstance(c, dict) and c.get("upper") is not None]
    if uppers and max(uppers) > estimate:
        return max(uppers)
    f0 = estimate - result.documented
    lo_f = float(result.lower if result.lower is not None else result.documented) - result.documented
    return estimate + (f0 * f0 / lo_f - f0 if f0 > 0 and lo_f > 0 else 0.0)


def pooling_draws(result: EstimateResult, size: int, rng: np.random.Generator) -> np.ndarray | None:
    """Draws of N for pooling, also for a result without a finite upper limit.

    A result with a finite interval gets :func:`approximate_draws`. A result without a finite
    upper limit has an infinite upper quantile: at least (1 - level) / 2 of its mass lies beyond
    any bound, and how much more is unknown. Its draws are a split log-normal matched to its lower
    end, its estimate and a finite stand-in upper end (:func:`_finite_upper`), with the largest
    (1 - level) of them (twice the least its interval implies) set to +inf. Alone, or summed over
    strata, they keep the upper limit infinite; mixed with finite replicates, the pooled upper
    limit is finite only while fewer than half of the replicates lack one (e.g. one linkage draw
    in twenty), and it then reaches far into the finite replicates' tails.

    Returns:
        ``size`` draws (some may be +inf), or None when the result has no estimate.
    """
    draws = approximate_draws(result, size, rng)
    if draws is not None or not result.estimable or result.estimate is None or result.lower is None:
        return draws
    body = approximate_draws(replace(result, upper=_finite_upper(result), draws=None), size, rng)
    if body is None:
        return None
    body = np.sort(body)
    body[size - (int(np.floor(size * (1 - result.level))) + 1):] = np.inf
    rng.shuffle(body)
    return body


def _quantiles(draws: np.ndarray, level: float) -> tuple[float, float | None]:
    """The interval of mixed draws; the upper end None when it is infinite."""
    probs = [(1 - level) / 2, (1 + level) / 2]
    if np.isfinite(draws).all():
        lo, hi = np.quantile(draws, probs)
    else:  # no interpolation towards +inf
        lo, hi = np.quantile(draws, probs, method="inverted_cdf")
    return float(lo), float(hi) if np.isfinite(hi) else None


def _median(draws: np.ndarray, fallback: float) -> float:
    """The median of draws that may hold +inf (``fallback`` when the median itself is infinite)."""
    value = float(np.quantile(draws, 0.5, method="inverted_cdf"))
    return value if np.isfinite(value) else fallback


def _pool(results: list[EstimateResult], draws: list[np.ndarray | None], method: str) -> EstimateResult:
    """Pool replicate results of one stratum (or of the total)."""
    if all(r is results[0] for r in results):
        return results[0]
    kept = [i for i, r in enumerate(results) if r.estimable and r.estimate is not None]
    if not kept:
        return results[0]
    ok = [results[i] for i in kept]
    ok_draws = [draws[i] for i in kept]
    estimate = float(np.mean([r.estimate for r in ok]))  # replaced by the mixed draws' median below
    level = ok[0].level
    lower: float | None
    upper: float | None
    mixed: np.ndarray | None = None
    warnings = _unique_warnings(w for r in ok for w in r.warnings)
    if all(d is not None for d in ok_draws):
        mixed = np.concatenate([d for d in ok_draws if d is not None])
        estimate = _median(mixed, estimate)
        lo, hi = _quantiles(mixed, level)
        lower, upper = min(lo, estimate), None if hi is None else max(hi, estimate)
        unbounded = sum(r.upper is None for r in ok)
        if unbounded and upper is not None:  # the replicates' missing upper limit is not the pooled result's
            warnings = [w for w in warnings if NO_UPPER not in w]
            warnings.append(f"{unbounded} of {len(ok)} replicates have {NO_UPPER}; the pooled "
                            "interval is finite because they hold less than its upper tail")
    else:
        lower, upper = float(min(r.lower or r.documented for r in ok)), None
    documented = [r.documented for r in ok]
    if len(set(documented)) > 1:
        warnings.append(f"the documented count varies across replicates: {min(documented):,} to {max(documented):,}")
    finite = mixed is not None and bool(np.isfinite(mixed).all())  # +inf draws stay inside the pooling
    return EstimateResult(
        method=method,
        documented=int(round(float(np.mean(documented)))),
        estimate=estimate,
        lower=lower,
        upper=upper,
        level=level,
        model=ok[0].model,
        mean=float(np.mean(mixed)) if finite and mixed is not None and ok[0].mean is not None else None,
        warnings=tuple(warnings),
        details={"replicates": len(results), "replicate_estimates": [float(r.estimate or 0) for r in ok],
                 "replicate_documented": documented,
                 "replicates_without_upper": sum(r.upper is None for r in ok),
                 "documented_range": [min(documented), max(documented)]},
        draws=mixed if finite else None,
    )


def estimate_matrix(
    matrix: pd.DataFrame,
    labels: Sequence[pd.Series],
    *,
    seed: int = 0,
    method: str = "auto",
    options: Any = None,
    model: str | None = None,
    criterion: str | None = None,
    level: float = 0.95,
    workers: int | None = None,
) -> tuple[dict[str, EstimateResult], EstimateResult, dict[str, str]]:
    """Estimate every stratum of every replicate of a persons x lists matrix and pool.

    Args:
        matrix: persons x lists 0/1 (one replicate's matrix, or the common one).
        labels: per replicate, the stratum label of each person (index as ``matrix``).
        seed: seed for the samplers and the pooling draws.
        method, options, model, criterion, level: as :func:`undercount.estimate.auto.estimate_table`.
        workers: processes for the strata (:mod:`undercount.estimate.workers`; 1: this process only;
            None: as UNDERCOUNT_WORKERS says, off when unset); the results do not depend on it.

    Returns:
        (strata results, total, merge notes).

    Raises:
        ConfigError: a bad method, option or seed.
    """
    check_seed(seed)
    fitting = choose(method, options, model=model, criterion=criterion)
    targets = fitting.targets()
    if len(labels) > 1:
        fitting = fitting.for_replicates(len(labels))
    return _estimate_replicates([(matrix, lab) for lab in labels], fitting=fitting, seed=seed, level=level,
                                targets=targets, workers=workers)


def _estimate_replicates(
    replicates: list[tuple[pd.DataFrame, pd.Series]], *, fitting: Fitting, seed: int, level: float,
    targets: Convergence | None = None, progress: Callable[[int, int], None] | None = None,
    fitted: Fitted | None = None, workers: int | None = None, replicate_totals: list[EstimateResult] | None = None,
) -> tuple[dict[str, EstimateResult], EstimateResult, dict[str, str]]:
    """Estimate every stratum of every replicate, bring each stratum's sampler to convergence, pool.

    ``targets`` are the convergence targets of the run (its method's, before ``fitting`` was
    shared out over the replicates): when replicates are pooled, a stratum's chains are judged
    together (:func:`undercount.estimate.diagnostics.grouped_rhat`, summed ESS) and refitted with
    longer chains until they meet the targets or the stratum's time budget runs out.
    ``fitted``: the fits of the run's earlier passes (:data:`Fitted`), reused where a stratum's table recurs.
    ``replicate_totals``: when given, each replicate's own total (the sum of its strata) is appended, in order.
    """
    rng = np.random.default_rng(seed)
    first_matrix, first_labels = replicates[0]
    stratified = not (first_labels == "total").all()
    mapping, notes = merge_sparse(first_matrix, first_labels) if stratified else ({"total": "total"}, {})
    order: list[int] = []
    plans: dict[int, dict[str, pd.DataFrame]] = {}
    for matrix, labels in replicates:
        merged = labels.map(lambda s: mapping.get(s, s))
        key = _replicate_key(matrix, merged)
        order.append(key)
        if key not in plans:  # identical replicates (e.g. certain links) are estimated once, counted each time
            plans[key] = {str(name): matrix.loc[idx] for name, idx in merged.groupby(merged.to_numpy()).groups.items()}
    names = sorted({name for plan in plans.values() for name in plan})
    # auto tests list dependence once, pooled over the first replicate's strata (the best linkage's)
    fitting, dependent = with_pooled_dependence(fitting, [capture_table(t) for t in plans[order[0]].values()], seed=seed)
    fits = _converge_strata(names, plans, fitting=fitting, seed=seed, level=level,
                            targets=targets if len(replicates) > 1 else None, progress=progress, fitted=fitted,
                            workers=workers)
    per_stratum: dict[str, list[EstimateResult]] = {}
    per_stratum_draws: dict[str, list[np.ndarray | None]] = {}
    totals: list[EstimateResult] = []
    own_totals: list[EstimateResult] = []  # each replicate's total (without strata: its one fit)
    total_draws: list[np.ndarray | None] = []
    done: dict[int, tuple[dict[str, EstimateResult], dict[str, np.ndarray | None], EstimateResult,
                          np.ndarray | None]] = {}
    for key in order:
        if key not in done:
            results = {name: fits[name][0][key] for name in sorted(plans[key])}
            draws = {name: pooling_draws(res, POOL_DRAWS, rng) for name, res in results.items()}
            done[key] = (results, draws, *_sum_strata(results, draws, level))
        results, draws, replicate_total, summed = done[key]
        for name, res in results.items():
            per_stratum.setdefault(name, []).append(res)
            per_stratum_draws.setdefault(name, []).append(draws[name])
        totals.append(replicate_total)
        own_totals.append(replicate_total if stratified else results["total"])
        total_draws.append(summed)
    strata = {name: _with_convergence(_pool(res, per_stratum_draws[name], res[0].method), fits[name][1])
              for name, res in sorted(per_stratum.items())}
    if not stratified:
        total = strata.pop("total")
        strata = {}
    else:
        total = _with_convergence(_pool(totals, total_draws, totals[0].method), _total_convergence(strata))
    if dependent:
        total = replace(total, details={**total.details, "negative_pairs": dependent})
    if replicate_totals is not None:
        replicate_totals.extend(own_totals)
    return strata, total, notes


def _converge_strata(
    names: list[str], plans: dict[int, dict[str, pd.DataFrame]], *, fitting: Fitting, seed: int, level: float,
    targets: Convergence | None, progress: Callable[[int, int], None] | None = None, fitted: Fitted | None = None,
    workers: int | None = None,
) -> dict[str, tuple[dict[int, EstimateResult], dict[str, Any]]]:
    """:func:`_converge_stratum` for every stratum: in worker processes (:mod:`undercount.estimate.workers`)
    when asked for (off by default) and the work is large enough, else in parallel threads of this process (the samplers
    and the compiled fits release the GIL). Each stratum's fits depend on its tables and the seed only, so
    the results do not depend on the number of processes or threads; they are returned in ``names``' order.
    ``progress(done, total)`` is called from this thread as strata finish (for progress bars)."""
    report = progress or (lambda done, total: None)
    report(0, len(names))
    rows = sum(len(plan[name]) for plan in plans.values() for name in plan)
    processes = stratum_processes(len(names), rows, workers)
    if processes > 1:
        tasks = []
        for name in names:
            own = {key: {name: plan[name]} for key, plan in plans.items() if name in plan}
            size = sum(len(plan[name]) for plan in own.values())
            tasks.append((_stratum_task, (name, own, fitting, seed, level, targets, _fitted_of(fitted, name)), size))
        load_kernels()  # once in this process: the workers inherit the loaded kernels instead of loading them again
        done = run_in_processes(processes, tasks, lambda finished: report(finished, len(names)))
        if done is not None:
            fits = {}
            for name, (fit, entries, made, caught) in zip(names, done):
                fits[name] = fit
                if fitted is not None:
                    fitted.update(entries)
                keep_fixed_fits(made)  # the fits of the tables alone, for the later passes of this process
                for text, category, filename, lineno in caught:  # given again here, under this process's filters
                    warnings.warn_explicit(text, category, filename, lineno)
            return fits
    workers = min(len(names), os.cpu_count() or 1) if workers is None else min(len(names), workers)
    if workers <= 1:
        fits = {}
        for finished, name in enumerate(names, start=1):
            fits[name] = _converge_stratum(name, plans, fitting=fitting, seed=seed, level=level, targets=targets,
                                           fitted=fitted)
            report(finished, len(names))
        return fits
    # The warning filters are process-wide and catch_warnings is not thread-safe: the replicates'
    # own convergence warnings are silenced once here, around the threads (the pooled chains are judged).
    with warnings.catch_warnings():
        if targets is not None:
            warnings.simplefilter("ignore", ConvergenceWarning)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stratum") as pool:
            futures = {name: pool.submit(_converge_stratum, name, plans, fitting=fitting, seed=seed, level=level,
                                         targets=targets, filters=False, fitted=fitted) for name in names}
            for finished, _ in enumerate(as_completed(futures.values()), start=1):
                report(finished, len(names))
            return {name: futures[name].result() for name in names}


def _fitted_of(fitted: Fitted | None, name: str) -> Fitted | None:
    """The run's earlier fits of one stratum (what its worker process needs of ``fitted``)."""
    return None if fitted is None else {key: tables for key, tables in fitted.items() if key[0] == name}


def _stratum_task(
    name: str, plans: dict[int, dict[str, pd.DataFrame]], fitting: Fitting, seed: int, level: float,
    targets: Convergence | None, fitted: Fitted | None,
) -> tuple[tuple[dict[int, EstimateResult], dict[str, Any]], Fitted, dict[tuple[Any, ...], Any],
           list[tuple[str, type[Warning], str, int]]]:
    """:func:`_converge_stratum` in a worker process: its result, the stratum's fits (to keep in the
    run's memo), the fits of its tables alone it made (:func:`undercount.estimate.auto.fixed_fits_since`)
    and the warnings it gave (to give again in the calling process)."""
    known = fixed_fits_known()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if targets is not None:  # as the threads: the replicates' short chains are judged together
            warnings.simplefilter("ignore", ConvergenceWarning)
        result = _converge_stratum(name, plans, fitting=fitting, seed=seed, level=level, targets=targets,
                                   filters=False, fitted=fitted)
    return (result, fitted or {}, fixed_fits_since(known),
            [(str(w.message), w.category, w.filename, w.lineno) for w in caught])


def _converge_stratum(
    name: str, plans: dict[int, dict[str, pd.DataFrame]], *, fitting: Fitting, seed: int, level: float,
    targets: Convergence | None, filters: bool = True, fitted: Fitted | None = None,
) -> tuple[dict[int, EstimateResult], dict[str, Any]]:
    """Fit one stratum in every replicate; refit with longer chains until the pooled chains converge.

    ``filters=False``: the caller has set the warning filters (threads must not touch them).

    Returns:
        (replicate key -> result, the stratum's pooled diagnostics: rhat, ess_bulk, converged,
        passes, seconds; empty when nothing was sampled or a single fit judged itself).
    """
    with cpu_meter() as meter, continued_chains():  # the budget is CPU time (this thread's and its samplers'),
        # so load does not cut it; a pass with longer chains runs each replicate's chains on
        return _converge_passes(name, plans, meter, fitting=fitting, seed=seed, level=level, targets=targets,
                                filters=filters, fitted=fitted)


def _converge_passes(
    name: str, plans: dict[int, dict[str, pd.DataFrame]], meter: CpuMeter, *, fitting: Fitting, seed: int,
    level: float, targets: Convergence | None, filters: bool, fitted: Fitted | None = None,
) -> tuple[dict[int, EstimateResult], dict[str, Any]]:
    """The passes of :func:`_converge_stratum`, their cost read from ``meter``."""
    started = time.perf_counter()
    current = fitting
    passes = 0
    while True:
        passes += 1
        began, began_cpu = time.perf_counter(), meter.seconds
        # each distinct table of the stratum is fitted once in the pass, and once in the run when ``fitted``
        # is given (the stratum's own entry: only this thread reads and writes it, so the reuse does not
        # depend on the threads' timing)
        tables: dict[tuple[Any, ...], EstimateResult] = ({} if fitted is None else
                                                          fitted.setdefault((name, current.name, repr(current.options),
                                                                             seed, level), {}))
        with warnings.catch_warnings() if filters else contextlib.nullcontext():
            if targets is not None and filters:  # the replicates' short chains are judged together below
                warnings.simplefilter("ignore", ConvergenceWarning)
            with warm_starts():  # the replicates' LCMCR chains start where the first (best linkage's) ended
                results = {key: _estimate_stratum(plan[name], fitting=current, seed=seed, level=level, fitted=tables)
                           for key, plan in plans.items() if name in plan}
        groups = list({id(r.chains): r.chains for r in results.values() if r.chains is not None}.values())
        if targets is None or not groups:
            return results, {}
        r_hat, ess = grouped_rhat(groups), grouped_ess(groups)
        converged = r_hat <= targets.rhat_max and ess >= targets.ess_min
        spent, took = time.perf_counter() - started, time.perf_counter() - began
        spent_cpu, took_cpu = meter.seconds, meter.seconds - began_cpu
        factor = 2.0 if ess >= targets.ess_min else float(np.clip(1.2 * targets.ess_min / max(ess, 1.0), 2.0, 8.0))
        more = factor - 1.0  # the chains run on (lcmcr.continued_chains): the next pass adds what they lack
        if (converged or out_of_budget(spent_cpu, more * took_cpu, spent, more * took, targets.time_budget)
                or current.extended(factor) == current):
            results = {key: _without_sampler_warnings(r) for key, r in results.items()}  # judged together below
            info = {"rhat": r_hat, "ess_bulk": ess, "converged": converged, "passes": passes,
                    "seconds": round(spent, 2), "cpu_seconds": round(spent_cpu, 2), "replicate_fits": len(groups),
                    "targets": {"rhat_max": targets.rhat_max, "ess_min": targets.ess_min,
                                "time_budget": targets.time_budget}}
            return results, info
        current = current.extended(factor)


def _without_sampler_warnings(result: EstimateResult) -> EstimateResult:
    """A replicate's result without its own convergence warning (the stratum's pooled chains are judged instead)."""
    kept = tuple(w for w in result.warnings if not w.startswith("ConvergenceWarning"))
    return result if kept == result.warnings else replace(result, warnings=kept)


def _with_convergence(result: EstimateResult, info: dict[str, Any]) -> EstimateResult:
    """A pooled result with its pooled sampler diagnostics and, when they fall short, the warning that says so."""
    if not info:
        return result
    kept = _without_sampler_warnings(result).warnings
    if not info["converged"] and "targets" in info:
        t = info["targets"]
        text = convergence_warning(info["rhat"], info["ess_bulk"], rhat_max=t["rhat_max"], ess_min=t["ess_min"],
                                   budget=t["time_budget"], seconds=info.get("cpu_seconds", info.get("seconds")))
        warnings.warn(text, ConvergenceWarning, stacklevel=3)
        kept += (text,)
    elif not info["converged"]:
        failed = info["strata_not_converged"]
        kept += (f"ConvergenceWarning: the chains of {len(failed)} stratum(s) ({', '.join(failed)}) did not converge "
                 "within their time budget, so the total is unreliable",)
    return replace(result, warnings=kept, details={**result.details, "sampler": info, "converged": info["converged"]})


def _total_convergence(strata: dict[str, EstimateResult]) -> dict[str, Any]:
    """The total's diagnostics: converged when every sampled stratum converged."""
    infos = {name: r.details["sampler"] for name, r in strata.items() if r.details.get("sampler")}
    if not infos:
        return {}
    failed = sorted(name for name, info in infos.items() if not info["converged"])
    return {"converged": not failed, "strata_not_converged": failed,
            "rhat": max(info["rhat"] for info in infos.values()),
            "ess_bulk": min(info["ess_bulk"] for info in infos.values())}


def _estimate_stratum(sub: pd.DataFrame, *, fitting: Fitting, seed: int, level: float,
                      fitted: dict[tuple[Any, ...], EstimateResult] | None = None) -> EstimateResult:
    """Estimate one stratum; a list that names no one in it is no capture system there and is left out.

    ``fitted`` holds the results of the tables fitted so far in this run, keyed on the table (its
    lists and counts) and the number of persons: a table met again (imputations and linkage draws
    often give the same table) takes that result, which its fit would repeat exactly (same seed).
    """
    values = sub.to_numpy(dtype=np.int64)
    totals = values.sum(axis=0)
    present = totals > 0
    empty = [str(c) for c, here in zip(sub.columns, present) if not here]
    lists = [c for c, here in zip(sub.columns, present) if here]
    if len(lists) < 2:
        return EstimateResult.not_estimable(
            fitting.name, len(sub),
            f"fewer than two lists name anyone in this stratum ({', '.join(empty)} name no one)",
        )
    # the persons per capture pattern of the lists kept (cell c: bit k = list k), counted in numpy: the
    # table's frame is built only for a fit (most tables of a run's later passes are met before)
    cells = np.bincount(values[:, present] @ (1 << np.arange(len(lists), dtype=np.int64)), minlength=2 ** len(lists))
    key = (tuple(lists), cells[1:].tobytes(), len(sub))
    result = fitted.get(key) if fitted is not None else None
    if result is None:
        result = _estimate_one(table_from_counts(cells[1:], lists), len(sub), fitting=fitting, seed=seed, level=level)
        if fitted is not None:
            fitted[key] = result
    for col in empty:
        result = result.with_warning(f"list {col} names no one in this stratum and is left out of its estimate")
    return result


def _replicate_key(matrix: pd.DataFrame, labels: pd.Series) -> int:
    """A hash of a replicate's capture matrix and stratum labels."""
    rows = pd.util.hash_pandas_object(matrix, index=False).to_numpy()
    labs = pd.util.hash_pandas_object(labels.reset_index(drop=True), index=False).to_numpy()
    order = np.argsort(rows * 31 + labs, kind="stable")
    return hash((rows[order] * 31 + labs[order]).tobytes())


def _estimate_one(table: pd.DataFrame, persons: int, *, fitting: Fitting, seed: int, level: float) -> EstimateResult:
    values = table.to_numpy(dtype=np.int64)  # one array: selecting the list columns by name cost far more
    if not len(values) or (values.sum(axis=1) - values[:, table.columns.get_loc("count")]).max() < 2:
        return EstimateResult.not_estimable(fitting.name, persons, "no person is on two or more lists")
    return fit_table(fitting, table, level=level, seed=seed)


def _sum_strata(
    results: dict[str, EstimateResult], draws: dict[str, np.ndarray | None], level: float
) -> tuple[EstimateResult, np.ndarray | None]:
    """A replicate's total: the sum of its strata, and the sum of their draws (for pooling; may hold +inf)."""
    ok = {k: r for k, r in results.items() if r.estimable and r.estimate is not None}
    documented = sum(r.documented for r in results.values())
    if len(ok) < len(results):
        missing = sorted(set(results) - set(ok))
        return EstimateResult.not_estimable("stratified", documented, f"strata not estimable: {', '.join(missing)}"), None
    estimate = float(sum(r.estimate for r in ok.values()))  # type: ignore[misc]
    methods = sorted({r.method for r in ok.values()})
    if any(d is None for d in draws.values()):
        return EstimateResult(
            method="+".join(methods), documented=documented, estimate=estimate,
            lower=float(sum(r.lower or r.documented for r in ok.values())), upper=None, level=level,
            warnings=(NO_TOTAL_UPPER,),
        ), None
    summed = np.sum([d for d in draws.values() if d is not None], axis=0)
    estimate = _median(summed, estimate)  # the total's posterior median, not the sum of the strata's medians
    lo, hi = _quantiles(summed, level)
    warnings = _unique_warnings(w for r in ok.values() for w in r.warnings)
    if hi is None:
        warnings.append(NO_TOTAL_UPPER)
    return EstimateResult(
        method="+".join(methods), documented=documented, estimate=estimate,
        lower=float(min(lo, estimate)), upper=None if hi is None else float(max(hi, estimate)), level=level,
        model=f"sum of {len(ok)} strata", draws=summed if hi is not None else None,
        warnings=tuple(warnings),
    ), summed


def _records(case: Case) -> pd.DataFrame:
    cols = ["record_id", "source", "age", "sex", "place", "event_date", "reported_date", "status", "cause"]
    return case.records(columns=cols)


def _population_records(recs: pd.DataFrame, lists: list[str], population: Population | None
                        ) -> tuple[pd.DataFrame, Population, dict[str, Any]]:
    """The records of the persons in the population, the population, and how it was drawn.

    Raises:
        ConfigError: no population was named and the persons carry different statuses (they are
            never estimated together).
    """
    persons = reconcile(recs, lists, history=False)
    statuses = [s for s in STATUS_ORDER if bool((persons["status"] == s).any())]
    if population is None:
        if len(statuses) > 1:
            raise ConfigError(
                f"the case holds {', '.join(statuses)} persons: capture-recapture counts one population, so "
                "choose one (status=...) or estimate each (estimate_populations)")
        population = Population(statuses[0] if statuses else None)
    inside = select(persons, population)
    kept = persons.index[inside]
    notes: dict[str, Any] = {
        "persons": int(inside.sum()),
        "status_reconciled": int(persons.loc[kept, "changed"].sum()),
        "without_status": int(persons["status"].isna().sum()) if statuses else 0,
    }
    if population.status == "killed":
        notes["killed_after_other_status"] = int(persons.loc[kept, "changed"].sum())
    if population.cause == "direct":
        notes["cause_not_recorded"] = int(persons.loc[kept, "cause"].isna().sum())
    person_of_record = persons.index.get_indexer(pd.Index(recs["person_id"]))  # reconcile indexes every person of recs
    return recs[inside[person_of_record]], population, notes


def estimate_case(
    case: Case,
    *,
    by: str | Sequence[str] | None = None,
    method: str = "auto",
    options: Any = None,
    model: str | None = None,
    criterion: str | None = None,
    seed: int = 0,
    imputations: int = 10,
    level: float = 0.95,
    assignments: Sequence[pd.Series] | None = None,
    store: bool = True,
    population: Population | None = None,
    releases: Any = None,
    correction: Any = None,
    progress: Callable[[int, int], None] | None = None,
    places: dict[str, str] | None = None,
    shared: dict[Any, Any] | None = None,
    workers: int | None = None,
) -> StratifiedResult:
    """Estimate the number of victims of a linked case, per stratum and in total, in one population.

    A list with several releases is counted by one of them, never as several lists: its newest
    linked release unless ``releases`` names another (``{"moh": "moh@2024-06-20"}`` or
    ``["moh=2024-06-20"]``); ``population_notes['releases']`` and ``['release_notes']`` say which.

    Args:
        case: a linked case.
        population: who is counted (one status, one kind of death; statuses reconciled per person,
            :mod:`undercount.estimate.population`); None: the one status the case holds.
        by: None (the default rule), 'none', or covariates among age_group, sex, place, period.
        method, options, model, criterion, level: as :func:`undercount.estimate.auto.estimate_table`.
        seed: seed of imputation, samplers and pooling.
        imputations: imputations of unknown stratum values (ignored when none is unknown).
        assignments: alternative linkages (person_id per record, indexed by record_id) to pool
            over; default: the case's current clusters.
        store: write the result to uc_estimates in an 'estimate' run.
        releases: list -> the release to count (default: each list's newest linked release).
        correction: a :class:`undercount.estimate.correction.Correction` for missed links,
            drawn afresh for every replicate (at least ``correction.draws`` replicates in all).
        progress: called with (strata fitted, strata) as strata finish, for progress bars.
        places: when the strata include place: each recorded place's group
            (:func:`undercount.estimate.strata.place_groups`); None: grouped on the first linkage.
        shared: a memo shared by the estimates of one run on an unchanged case (e.g. the passes of
            :func:`undercount.estimate.linkage.estimate_with_linkage`): the case is read once and
            each linkage's population, capture matrix, covariates and imputations are made once
            (the same values as made afresh), and a stratum's table met in an earlier pass (e.g. a stratum
            the correction for missed links left as it was) takes that pass's fit. None: nothing is kept.
        workers: processes for the strata (:mod:`undercount.estimate.workers`; 1: this process only;
            None: as UNDERCOUNT_WORKERS says, off when unset); the results do not depend on it.

    Returns:
        A StratifiedResult.

    Raises:
        StoreError: the case has not been linked.
        ConfigError: a bad option, or no population named in a case of several statuses.
    """
    check_imputations(imputations)
    check_seed(seed)
    fitting = choose(method, options, model=model, criterion=criterion)
    started = datetime.now(UTC).replace(tzinfo=None)
    wanted = parse_by(by)
    memo: dict[Any, Any] = {} if shared is None else shared
    read_key = ("reads", repr(releases))
    if read_key not in memo:
        with case.reading():  # one connection for the reads
            inputs = run_inputs(case)  # the clusters and decisions it reads, stored with it (staleness)
            clusters = case.clusters(inputs.cluster_run)
            records = _records(case)
            choice = choose_releases(case, set(clusters["source"]), releases)  # one release per list
            lists = [s for s in case.sources()["name"].tolist() if s in set(choice.sources)]
        memo[read_key] = (inputs, clusters, records[records["source"].isin(lists)], choice, lists)
    inputs, clusters, records, choice, lists = memo[read_key]
    if len(lists) < 2:
        raise StoreError(f"{case.path} holds {len(lists)} linked list(s): estimation needs at least two")
    if population is not None and not isinstance(population, Population):
        raise ConfigError(f"population {population!r}: give a Population")
    base = clusters.set_index("record_id")["person_id"]
    links = list(assignments) if assignments else [base]
    replicates: list[tuple[pd.DataFrame, pd.Series]] = []
    why = ""
    chosen: list[str] = []
    drawn: dict[str, Any] = {}
    recorded: pd.DataFrame | None = None  # the first linkage's covariates, places as recorded
    for person in links:
        named = _series_key(person)
        linkage = (read_key, named, population)
        if linkage not in memo:
            prepared = _prepare(records, person, lists, population)
            memo[linkage] = memo[(read_key, named, prepared[2])] = prepared  # also under the population it found
        matrix, cov, population, notes_here = memo[linkage]
        linkage = (read_key, named, population)
        drawn = drawn or dict(notes_here)
        if matrix.shape[1] < 2:
            return _too_few_lists(case, matrix, population, drawn, fitting, store=store, started=started)
        if not replicates:
            chosen, why = default_strata(matrix, cov) if wanted is None else (wanted, "as asked")
            recorded = cov
        if "place" in chosen:  # top places and "other places", grouped once for every linkage
            places = places if places is not None else place_groups(cov["place"], matrix)
            cov = cov.assign(place=group_places(cov["place"], places))  # a copy: the memo keeps the recorded places
        grouped = tuple(sorted(places.items())) if places is not None and "place" in chosen else None
        imputed = (linkage, tuple(chosen), grouped, imputations, seed)
        if imputed not in memo:  # the same imputations for every linkage
            memo[imputed] = list(impute_strata(matrix, cov, chosen, m=imputations, rng=np.random.default_rng(seed)))
        labelled = memo[imputed]
        if correction is None:
            replicates.extend((matrix, labels) for labels in labelled)
            continue
        for i in range(max(len(labelled), -(-correction.draws // len(links)))):  # a fresh correction draw each
            draw = np.random.default_rng([seed, len(replicates)])
            replicates.append(correction.adjust(matrix, labelled[i % len(labelled)], person, draw))
    targets = fitting.targets()
    if len(replicates) > 1:
        fitting = fitting.for_replicates(len(replicates))
    own: list[EstimateResult] = []
    strata, total, notes = _estimate_replicates(replicates, fitting=fitting, seed=seed, level=level, targets=targets,
                                                progress=progress, fitted=None if shared is None else
                                                memo.setdefault(("fitted",), {}), workers=workers,
                                                replicate_totals=own)
    assert population is not None  # set by _population_records
    drawn["lists"] = [str(c) for c in replicates[0][0].columns]
    if choice.several:
        drawn.update(releases=choice.to_dict(), release_notes=choice.notes())
    result = StratifiedResult(total, strata, chosen, why, notes, len(replicates), population=population,
                              population_notes=drawn, matrix=replicates[0][0], covariates=recorded,
                              replicate_totals=tuple(own))
    if store:
        result = _store(case, result, started, {**fitting.params(), "level": level, "by": chosen, "seed": seed,
                                                "imputations": imputations, "link_assignments": len(links)}, inputs)
    return result


def _series_key(person: pd.Series) -> tuple[int, int]:
    """A key of a linkage (person_id by record_id) by its content."""
    hashed = pd.util.hash_pandas_object(person, index=True).to_numpy()
    return len(person), hash(hashed.tobytes())


def _prepare(records: pd.DataFrame, person: pd.Series, lists: list[str], population: Population | None
             ) -> tuple[pd.DataFrame, pd.DataFrame, Population, dict[str, Any]]:
    """One linkage's population: its persons x lists matrix (lists that name no one in it left out),
    the persons' covariates, the population and how it was drawn."""
    recs = records.assign(person_id=records["record_id"].map(person))
    recs, population, notes = _population_records(recs[recs["person_id"].notna()], lists, population)
    matrix = capture_matrix(recs, lists)
    matrix = matrix.loc[:, matrix.sum(axis=0) > 0]  # a list that names no one in the population is no system
    cov = person_covariates(recs, matrix.index) if matrix.shape[1] >= 2 else pd.DataFrame(index=matrix.index)
    return matrix, cov, population, notes


def _too_few_lists(case: Case, matrix: pd.DataFrame, population: Population, notes: dict[str, Any],
                   fitting: Fitting, *, store: bool, started: datetime) -> StratifiedResult:
    """The result of a population that fewer than two lists name: not estimable, said why."""
    named = [str(c) for c in matrix.columns]
    reason = (f"fewer than three usable lists: only {', '.join(named) or 'no list'} "
              f"name{'s' if len(named) == 1 else ''} anyone in this population")
    total = EstimateResult.not_estimable(fitting.name, len(matrix), reason)
    result = StratifiedResult(total, {}, [], "", {}, 1, population=population,
                              population_notes={**notes, "lists": named})
    return _store(case, result, started, {**fitting.params(), "by": []}) if store else result


def check_imputations(imputations: int) -> None:
    """Refuse fewer than one imputation (0 or -3 used to be taken silently as 1).

    Raises:
        ConfigError: ``imputations`` is below 1.
    """
    if imputations < 1:
        raise ConfigError(f"imputations {imputations}: use 1 or more")


def _store(case: Case, result: StratifiedResult, started: datetime, params: dict[str, Any],
           inputs: RunInputs | None = None) -> StratifiedResult:
    run_id = case.new_run_id("estimate")
    rows = [("total", result.total)] + list(result.strata.items())
    with case.reading():
        read = inputs or run_inputs(case)  # before the transaction: no second connection inside it
    with case.transaction() as con:
        for name, res in rows:
            con.execute(
                "INSERT INTO uc_estimates VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, name, res.method, res.documented, res.estimate, res.lower, res.upper,
                 json.dumps(res.to_dict(), default=str)],
            )
        summary = {"documented": result.total.documented, "estimate": result.total.estimate,
                   "lower": result.total.lower, "upper": result.total.upper, "strata": len(result.strata),
                   "population": result.population.label}
        case.record_run(con, run_id=run_id, kind="estimate", started_at=started,
                        params={**params, "population": {**result.population.to_dict(), **result.population_notes}},
                        summary=summary, inputs=read)
    return replace(result, run_id=run_id)


def store_result(case: Case, result: StratifiedResult, params: dict[str, Any],
                 started: datetime | None = None) -> StratifiedResult:
    """Write a result computed elsewhere (e.g. pooled over linkage draws) as an 'estimate' run."""
    return _store(case, result, started or datetime.now(UTC).replace(tzinfo=None), params)
