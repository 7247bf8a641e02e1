"""``write_report``: one self-contained HTML file a person can read, print and check.

Figures are SVG data URIs, the CSS is inline, nothing is fetched from the network. Names (only
in the list of links waiting for review, and only when not redacted) carry ``dir`` so Arabic and
Hebrew read right to left.
"""

from __future__ import annotations

import functools
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from undercount.errors import StoreError
from undercount.report import figures
from undercount.report.data import (
    LinkageSummary,
    read_estimates,
    read_linkage,
    read_memberships,
    read_persons,
    read_sources,
    records,
)
from undercount.report.summary import Headline, headline, missed_share, parse_stratum, plain_warning, shares
from undercount.report.text import fmt_int, fmt_interval, methods_text
from undercount.review.status import case_status
from undercount.store import Case
from undercount.store.output import write_output
from undercount.store.runs import run_inputs

__all__ = ["ReportResult", "write_report", "render_report", "SECTIONS"]

SECTIONS = ["summary", "sources", "releases", "who", "when", "overlap", "linkage", "estimates", "incidents",
            "displacement", "methods", "reproducibility"]
_RTL = re.compile(r"[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]")


@dataclass(frozen=True)
class ReportResult:
    """What ``write_report`` wrote.

    Attributes:
        path: the HTML file.
        figures: number of embedded figures.
        sections: the sections written, in order.
        seconds: time taken.
        size: bytes written.
    """

    path: Path
    figures: int
    sections: tuple[str, ...]
    seconds: float
    size: int


def text_dir(text: Any) -> str:
    """'rtl' for text holding Arabic or Hebrew letters, else 'ltr'."""
    return "rtl" if isinstance(text, str) and _RTL.search(text) else "ltr"


def _pct(value: float | None, digits: int = 0) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}%}"


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 or value.is_integer() else f"{value:.3g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _txt(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "–"
    return str(value)


def _date(value: Any) -> str:
    if value is None or pd.isna(value):
        return "–"
    return pd.Timestamp(value).strftime("%d %b %Y")


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    """The templates' environment, made once a process (it compiles each template once: about 0.4
    processor seconds a report otherwise)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("undercount.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(num=_num, pct=_pct, date=_date, dir=text_dir, int=fmt_int, txt=_txt)
    env.globals.update(interval=fmt_interval)
    return env


def _sources_context(sources: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for src in records(sources):
        audit = {k: v for k, v in (src.get("audit") or {}).items() if k not in ("name", "rows")}
        about = {k: src[k] if isinstance(src.get(k), str) else None for k in ("compiled_by", "description")}
        rows.append({**src, **about, "audit_items": [(k.replace("_", " "), v) for k, v in audit.items()]})
    return rows


def _estimate_rows(estimates: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for row in records(estimates):
        details = row["details"]
        rows.append({
            **row,
            "warnings": [plain_warning(w) for w in row["warnings"]],
            "estimate": None if pd.isna(row["estimate"]) else float(row["estimate"]),
            "lower": None if pd.isna(row["lower"]) else float(row["lower"]),
            "upper": None if pd.isna(row["upper"]) else float(row["upper"]),
            "linkage_share": row["linkage"].get("linkage_share"),
            "documented_range": details.get("documented_range"),
        })
    return rows


def _per_list(link: LinkageSummary, names: list[str]) -> list[dict[str, Any]]:
    if not link.linked:
        return []
    order = [n for n in names if n in link.per_list.index]
    return records(link.per_list.reindex(order).reset_index(names="name"))


def _forest_input(estimates: pd.DataFrame) -> pd.DataFrame:
    if estimates.empty:
        return estimates
    table = estimates[["label", "documented", "estimate", "lower", "upper", "estimable", "is_total"]].copy()
    table["n_warnings"] = estimates["warnings"].map(len)
    return table


def _populations(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Each population of the estimate (killed first) with its share missed and its verdict."""
    out = []
    for pop in run.get("populations", []):
        details = pop.get("details") or {}
        documented = pop.get("documented")
        missed = missed_share(int(documented), pop.get("estimate"), pop.get("lower"), pop.get("upper")) \
            if documented is not None and pop.get("estimable") else (None, None, None)
        out.append({**pop, "missed": missed[0], "verdict": dict(details.get("verdict") or {})})
    return out


def _breakdowns(head: Headline) -> list[dict[str, Any]]:
    """The estimates by period and by place, each row with its share missed."""
    out = []
    for made in head.breakdowns.values():
        rows = []
        for row in made.get("rows", []):
            missed = missed_share(int(row["documented"]), row.get("estimate"), row.get("lower"), row.get("upper")) \
                if row.get("estimable") else (None, None, None)
            rows.append({**row, "missed": missed[0], "verdict": dict(row.get("verdict") or {})})
        out.append({**made, "rows": rows, "known": float(made.get("known") or 0.0)})
    return out


def _pyramid_strata(estimates: pd.DataFrame) -> pd.DataFrame:
    """The strata of the estimate by age group and sex (empty unless the estimate has exactly those)."""
    if estimates.empty or not (~estimates["is_total"]).any():
        return pd.DataFrame()
    strata = estimates[~estimates["is_total"]]
    keys = [parse_stratum(str(s)) for s in strata["stratum"]]
    if any(set(k) != {"age_group", "sex"} for k in keys):
        return pd.DataFrame()
    return pd.DataFrame({"age_group": [k["age_group"] for k in keys], "sex": [k["sex"] for k in keys],
                         "documented": strata["documented"].to_numpy(), "estimate": strata["estimate"].to_numpy(),
                         "lower": strata["lower"].to_numpy(), "upper": strata["upper"].to_numpy(),
                         "estimable": strata["estimable"].to_numpy()})


def _charts(persons: pd.DataFrame, memberships: pd.DataFrame, link: LinkageSummary,
            estimates: pd.DataFrame, head: Headline | None = None, population: str = "all victims",
            ) -> dict[str, figures.Chart | None]:
    spread = head.range if head is not None else {}
    return {
        "pyramid": figures.age_sex_pyramid(persons),
        "estimated_pyramid": figures.estimated_pyramid(_pyramid_strata(estimates), population=population),
        "weekly": figures.weekly_counts(persons),
        "places": figures.place_counts(persons),
        "status_cause": figures.status_cause(persons),
        "upset": figures.upset(memberships),
        "pairs": figures.probability_histogram(link.probabilities, threshold=link.threshold, band=link.band),
        "cluster_sizes": figures.cluster_sizes(link.sizes),
        "forest": figures.forest(_forest_input(estimates), population=population),
        "range": figures.model_range(spread.get("models", []), documented=head.base if head else None,
                                     lower=spread.get("lower"), upper=spread.get("upper")) if spread else None,
    }


def _data_date(case: Case) -> dict[str, Any]:
    row = case.query("SELECT max(event_date) AS last_event, min(event_date) AS first_event, "
                     "max(reported_date) AS last_reported FROM uc_records").iloc[0]
    imported = case.query("SELECT max(imported_at) AS at FROM uc_sources")["at"].iloc[0]
    return {**{str(k): v for k, v in row.items()}, "last_import": imported}


def _runs(case: Case) -> list[dict[str, Any]]:
    runs = case.query("SELECT run_id, kind, finished_at, username, params, version FROM uc_runs "
                      "WHERE kind <> 'report' ORDER BY finished_at")
    out = []
    for run in records(runs):
        params = json.loads(run["params"]) if isinstance(run["params"], str) else (run["params"] or {})
        seeds = {k: v for k, v in params.items() if "seed" in k and v is not None}
        out.append({**run, "params_text": json.dumps(params, sort_keys=True, default=str), "seeds": seeds})
    return out


def render_report(case: Case, *, redact: bool = False, title: str | None = None) -> tuple[str, int]:
    """The report of a case as an HTML string.

    Args:
        case: the case.
        redact: leave out the names of the links waiting for review.
        title: the report's title (default: 'Victims documented and estimated: <case folder>').

    Returns:
        (html, number of figures).

    Raises:
        StoreError: the case holds no list.
    """
    from undercount._version import __version__
    from undercount.store.releases import choose_releases

    # The reads share one connection (about 50 queries; opening one costs tens of ms); the
    # figures are drawn after it is closed, so that the case is not held while they are.
    with case.reading():
        sources = read_sources(case)
        if sources.empty:
            raise StoreError(f"{case.path} holds no list: import one with 'undercount import' first")
        persons = read_persons(case)
        link = read_linkage(case)
        earlier = set(choose_releases(case).left_out)  # earlier releases of a list: not linked, not in overlaps
        counted = [name for name in sources["name"] if name not in earlier]
        memberships = read_memberships(case, counted)
        estimates, run = read_estimates(case)
        stale = case_status(case).warnings()  # the same sentences as 'undercount status' and the app
        data_date, runs = _data_date(case), _runs(case)
    head = headline(len(persons) if link.linked else 0, estimates)
    population_label = (run.get("population") or {}).get("label") or "all victims"
    charts = _charts(persons, memberships, link, estimates, head, population_label)
    from undercount.report.incidents import incidents_context

    entities, entity_figures = incidents_context(case, redact=redact)
    from undercount.report.releases import releases_context

    release_part = releases_context(case)
    context = {
        **entities,
        **release_part,
        "version": __version__,
        "case_name": case.path.name,
        "title": title or f"Victims documented and estimated: {case.path.resolve().name}",
        "generated_at": datetime.now(UTC).strftime("%d %b %Y %H:%M UTC"),
        "sections": SECTIONS,
        "head": head,
        "stale": stale,
        "data_date": data_date,
        "sources": _sources_context(sources),
        "persons": len(persons),
        "link": link,
        "per_list": _per_list(link, counted),
        "waiting": [] if redact else records(link.waiting_examples),
        "redact": redact,
        "shares": shares(persons, estimates),
        "status_counts": persons["status"].fillna("unknown").value_counts().to_dict(),
        "cause_counts": persons["cause"].fillna("unknown").value_counts().to_dict(),
        "unknown_age_sex": int((persons["age"].isna() | ~persons["sex"].isin(["male", "female"])).sum()),
        "undated": int(persons["event_date"].isna().sum()),
        "estimates": _estimate_rows(estimates),
        "estimate_run": run,
        "populations": _populations(run),
        "breakdowns": _breakdowns(head),
        "population_label": population_label,
        "methods": methods_text(sources, link, head, estimates, run),
        "runs": runs,
        "charts": charts,
    }
    html = _environment().get_template("report.html.j2").render(**context)
    return html, sum(chart is not None for chart in charts.values()) + entity_figures + int(release_part["release_figures"])


def write_report(case: Case, path: str | Path, *, redact: bool = False, title: str | None = None) -> ReportResult:
    """Write the report of a case to one self-contained HTML file.

    Args:
        case: the case.
        path: where to write (the folder must exist).
        redact: leave victims' names out of the report.
        title: the report's title (default: names the case folder).

    Returns:
        A :class:`ReportResult`.

    Raises:
        StoreError: the case holds no list, or the file cannot be written (the file is written
            600 to a temporary file, logged in the audit log, then renamed into place; a failure
            leaves nothing).

    Example:
        >>> write_report(Case.open("my-case"), "report.html")  # doctest: +SKIP
    """
    started = time.perf_counter()
    begun = datetime.now(UTC).replace(tzinfo=None)
    inputs = run_inputs(case, estimate=True)  # what it shows, stored with its run (staleness)
    html, n_figures = render_report(case, redact=redact, title=title)
    data = html.encode("utf-8")
    written = write_output(case, path, lambda handle: handle.write(data), action="report",
                           detail={"redacted": redact, "figures": n_figures})
    with case.transaction() as con:  # the audit entry is write_output's; this is the run
        case.record_run(con, run_id=case.new_run_id("report"), kind="report", started_at=begun,
                        params={"redacted": redact}, summary={"file": written.path.name, "sha256": written.sha256},
                        inputs=inputs, log=False)
    return ReportResult(written.path, n_figures, tuple(SECTIONS), time.perf_counter() - started, written.size)
