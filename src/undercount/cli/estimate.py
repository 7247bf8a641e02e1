"""Commands ``estimate`` (a linked case) and ``estimate-table`` (a CSV of counts)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import typer

from undercount.cli.app import Counts, app, console, handle_errors, print_json
from undercount.errors import UndercountWarning
from undercount.estimate.registry import BUILTIN

if TYPE_CHECKING:
    from undercount.estimate.results import EstimateResult

__all__ = ["estimate", "estimate_table_command"]

# The built-in names, not method_names(): that loads every estimator (numba, scipy) before --help.
METHOD_HELP = f"{', '.join(BUILTIN)} (docs/estimation.md describes each)."
ITERATIONS_HELP = ("LCMCR iterations per chain after burn-in (default: until R-hat <= 1.01 and bulk ESS >= 400, "
                   "or the time budget runs out).")
BUDGET_HELP = ("CPU seconds LCMCR may sample per stratum, all chains together, before its estimate is marked "
               "unreliable (default 240; load slows a run but does not cut it; wall time is capped at 5 times as many seconds).")
OPTION_HELP = ("A method option KEY=VALUE, repeatable, e.g. K=5 with --method lcmcr, lcmcr.K=5 or "
               "dga.delta=1/16 with auto (docs/estimation.md lists every method's options).")


def sampler_options(method: str, given: list[str] | None, iterations: int | None,
                    time_budget: float | None) -> list[str] | None:
    """The --option texts with --iterations and --time-budget added for the method's sampler.

    Raises:
        ConfigError: --iterations or --time-budget with a method that does not sample.
    """
    from undercount.errors import ConfigError

    extra = {"iterations": iterations, "time_budget": time_budget}
    asked = {k: v for k, v in extra.items() if v is not None}
    if not asked:
        return given or None
    prefix = {"lcmcr": "", "auto": "lcmcr."}.get(method)
    if prefix is None:
        flags = ", ".join("--" + k.replace("_", "-") for k in asked)
        raise ConfigError(f"{flags}: method {method!r} does not sample; use lcmcr or auto")
    return [*(given or []), *(f"{prefix}{k}={v}" for k, v in asked.items())]


def _fmt(value: float | None, *, infinite: str = "no finite limit") -> str:
    return infinite if value is None else f"{value:,.0f}"


def _render(rows: list[tuple[str, EstimateResult]], title: str) -> None:
    from rich.table import Table  # rich's tables only in the commands that draw one
    table = Table(title=title)
    for col in ("stratum", "documented", "estimate", "95% interval", "method", "model"):
        table.add_column(col, justify="right" if col in ("documented", "estimate") else "left")
    for name, res in rows:
        if not res.estimable or res.estimate is None:
            table.add_row(name, f"{res.documented:,}", "not estimable", res.reason or "", res.method, "")
            continue
        interval = f"{_fmt(res.lower, infinite='?')} to {_fmt(res.upper)}"
        table.add_row(name, f"{res.documented:,}", _fmt(res.estimate), interval, res.method, res.model or "")
    console.print(table)
    shown: set[str] = set()  # the total inherits its strata's warnings: print each with its stratum only
    for name, res in rows:
        for warning in res.warnings:
            if name != "total" or warning not in shown:
                console.print(f"warning ({name}): {warning}", markup=False, highlight=False, soft_wrap=True)
            shown.add(warning)
        why = res.details.get("why")
        if why:
            console.print(f"why ({name}): {why}", markup=False, highlight=False, soft_wrap=True)


@app.command("estimate-table")
@handle_errors
def estimate_table_command(
    table: Path = typer.Argument(..., help="CSV: one 0/1 column per list plus 'count'."),
    method: str = typer.Option("auto", "--method", help=METHOD_HELP),
    model: str | None = typer.Option(None, "--model", help='A log-linear model, e.g. "[12,13,34]"; [] = independence.'),
    criterion: Literal["aic", "bic"] | None = typer.Option(None, "--criterion", help="aic or bic for the log-linear search (bic)."),
    option: list[str] | None = typer.Option(None, "--option", "-o", help=OPTION_HELP),
    iterations: int | None = typer.Option(None, "--iterations", min=8, help=ITERATIONS_HELP),
    time_budget: float | None = typer.Option(None, "--time-budget", min=0.1, help=BUDGET_HELP),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the Bayesian samplers."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Estimate how many people no list holds, from a table of counts."""
    from undercount.estimate.auto import estimate_table
    from undercount.estimate.histories import read_table

    with warnings.catch_warnings():  # they are kept on the result and printed below
        warnings.simplefilter("ignore", UndercountWarning)
        result = estimate_table(read_table(table), method=method,
                                options=sampler_options(method, option, iterations, time_budget), model=model,
                                criterion=criterion, seed=seed)
    if as_json:
        print_json(result.to_dict())
    else:
        _render([("total", result)], f"Estimate from {table.name}")


@app.command("estimate")
@handle_errors
def estimate(
    case_dir: Path = typer.Argument(..., help="The case folder."),
    by: str | None = typer.Option(None, "--by", help="none, or covariates: age_group,sex,place,period."),
    method: str = typer.Option("auto", "--method", help=METHOD_HELP),
    model: str | None = typer.Option(None, "--model", help='A log-linear model, e.g. "[12,13,34]".'),
    criterion: Literal["aic", "bic"] | None = typer.Option(None, "--criterion", help="aic or bic for the log-linear search (bic)."),
    option: list[str] | None = typer.Option(None, "--option", "-o", help=OPTION_HELP),
    iterations: int | None = typer.Option(None, "--iterations", min=8, help=ITERATIONS_HELP),
    time_budget: float | None = typer.Option(None, "--time-budget", min=0.1, help=BUDGET_HELP),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of imputation, samplers and pooling."),
    imputations: int = typer.Option(10, "--imputations", min=1, help="Imputations of unknown stratum values."),
    link_draws: int = typer.Option(20, "--link-draws", min=0,
                                   help="Plausible linkages to pool over (0: the single best linkage)."),
    status: Literal["killed", "injured", "missing", "detained"] | None = typer.Option(None, "--status",
                                      help="killed, injured, missing or detained (default: each status present, "
                                           "killed first; never one total over statuses)."),
    cause: Literal["direct", "indirect", "direct_violence", "starvation", "disease", "other", "unknown", "any"] | None = typer.Option(
        None, "--cause", help="For the killed: which deaths (default: direct and indirect apart when the lists record "
                              "indirect deaths)."),
    release: list[str] = typer.Option([], "--release", metavar="LIST=RELEASE",
                                      help="Count this release of a list (its name or date; it must be linked) "
                                           "instead of its newest."),
    correction: Literal["auto", "sample", "model", "none"] = typer.Option("auto", "--correction",
                                   help="Correction for missed links: auto (an answered search sample, else the "
                                        "model's unverified estimate), sample, model or none."),
    models: bool = typer.Option(True, "--models/--no-models",
                                help="Also fit every admissible model without strata for the range across models "
                                     "(--no-models: the range holds the headline alone; faster)."),
    breakdowns: str | None = typer.Option(None, "--breakdowns",
                                          help="Also estimate each population by period and by place, one at a "
                                               "time: period,place (default), period, place or none."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Estimate the victims of a linked case, per population and stratum, pooled over plausible linkages.

    A list with several releases counts once, by its newest linked release (or the one --release names).
    """
    from undercount.estimate.linkage import estimate_populations
    from undercount.store import Case

    with warnings.catch_warnings(), Counts("Estimating") as report:
        warnings.simplefilter("ignore", UndercountWarning)
        results = estimate_populations(Case.open(case_dir), status=status, cause=cause, link_draws=link_draws, by=by,
                                       method=method, options=sampler_options(method, option, iterations, time_budget),
                                       model=model, criterion=criterion,
                                       seed=seed, imputations=imputations, correction=correction,
                                       releases=release or None, models=models, progress=report,
                                       breakdowns=breakdowns)
    if as_json:
        print_json(results.to_dict())
        return
    for note in results.headline.population_notes.get("release_notes", []):
        console.print(f"Releases: {note}", markup=False, highlight=False, soft_wrap=True)
    for result in results.results:
        _render_population(case_dir, result, link_draws)


def _verdict_lines(label: str, details: dict[str, Any]) -> list[str]:
    """The verdict in plain words and its reasons, one line each (nothing when not judged)."""
    verdict = details.get("verdict")
    if not verdict:
        return []
    return [f"{label.capitalize()}: {verdict['title']}", *(f"  - {reason}" for reason in verdict["reasons"])]


def _range_line(details: dict[str, Any]) -> str | None:
    """The range across models in one line, with the model at each end."""
    spread = details.get("range")
    if not spread or spread.get("lower") is None:
        return None
    count = sum(1 for m in spread["models"] if m["admissible"])
    upper = "no finite upper limit" if spread["upper"] is None else f"{spread['upper']:,.0f}"
    return (f"range across {count} plausible models: {spread['lower']:,.0f} ({spread['lower_model']}) to "
            f"{upper} ({spread['upper_model']})")


def _render_population(case_dir: Path, result: Any, link_draws: int) -> None:
    """One population's verdict, table, range across models, strata notes and linkage line."""
    label = result.population.label
    for line in _verdict_lines(label, result.total.details):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    rows: list[tuple[str, Any]] = [*result.strata.items(), ("total", result.total)]
    _render(rows, f"{label.capitalize()}: estimate for {case_dir.name} (strata: {', '.join(result.by) or 'none'})")
    spread = _range_line(result.total.details)
    if spread:
        console.print(spread, markup=False, highlight=False, soft_wrap=True)
    if result.why:
        console.print(f"strata: {result.why}", markup=False, highlight=False)
    for name, note in result.notes.items():
        console.print(f"stratum {name}: not estimable alone, {note}", markup=False, highlight=False)
    console.print(_linkage_line(result.total.details.get("linkage", {}), link_draws), markup=False, highlight=False)
    for made in (result.total.details.get("breakdowns") or {}).values():
        _render_breakdown(label, made)
    from undercount.estimate.correction import correction_line

    console.print(correction_line(result.total.details.get("correction", {})), markup=False, highlight=False)


def _render_breakdown(label: str, made: dict[str, Any]) -> None:
    """One breakdown (by period or by place): a row per group with its interval and verdict, or why none."""
    if not made["made"]:
        console.print(f"by {made['by']}: not broken down: {made['why']}", markup=False, highlight=False, soft_wrap=True)
        return
    from rich.table import Table  # rich's tables only in the commands that draw one
    table = Table(title=f"{label.capitalize()} by {made['name']}")
    for col in ("group", "documented", "estimate", "95% interval", "verdict"):
        table.add_column(col, justify="right" if col in ("documented", "estimate") else "left")
    for row in made["rows"]:
        if not row["estimable"] or row["estimate"] is None:
            table.add_row(row["label"], f"{row['documented']:,}", "not estimable", row["reason"] or "",
                          row["verdict"]["title"])
            continue
        interval = f"{_fmt(row['lower'], infinite='?')} to {_fmt(row['upper'])}"
        table.add_row(row["label"], f"{row['documented']:,}", _fmt(row["estimate"]), interval, row["verdict"]["title"])
    console.print(table)
    console.print(f"by {made['by']}: {made['why']}", markup=False, highlight=False, soft_wrap=True)


def _linkage_line(info: dict[str, Any], asked: int) -> str:
    """One line on the linkage's part in the interval (or why it was taken as certain)."""
    if asked == 0:
        return "linkage: the single best linkage (--link-draws 0); its uncertainty is not in the interval"
    if not info.get("draws"):
        return "linkage: the case holds no uncertain links; the estimate is the plain one"
    share = info.get("linkage_share")
    part = "not measured (no finite interval)" if share is None else f"{share:.0%} of the interval's width"
    return (f"linkage: pooled over {info['draws']} plausible linkages of {info.get('uncertain_pairs', 0):,} uncertain "
            f"pairs; documented {info['documented_min']:,} to {info['documented_max']:,}; linkage accounts for {part}")
