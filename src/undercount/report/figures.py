"""Figures of the report: matplotlib (Agg) drawings embedded as SVG data URIs.

Every function takes plain pandas objects and returns a :class:`Chart` (or None when there is
nothing to draw), so the figures can be tested without a case. Colours come from the Okabe-Ito
palette, which people with the common forms of colour blindness can tell apart. Matplotlib does
not shape Arabic, so labels pass through :func:`shape_label` (arabic_reshaper + python-bidi).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "Chart",
    "PALETTE",
    "STATUS_COLOURS",
    "CAUSE_COLOURS",
    "SEX_COLOURS",
    "shape_label",
    "age_sex_pyramid",
    "estimated_pyramid",
    "weekly_counts",
    "place_counts",
    "status_cause",
    "upset",
    "forest",
    "model_range",
    "probability_histogram",
    "cluster_sizes",
]

# Okabe & Ito (2008), "Color Universal Design".
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
STATUS_COLOURS = {"killed": "#D55E00", "injured": "#E69F00", "missing": "#56B4E9", "detained": "#CC79A7"}
CAUSE_COLOURS = {
    "direct_violence": "#D55E00",
    "starvation": "#E69F00",
    "disease": "#009E73",
    "other": "#0072B2",
    "unknown": "#BBBBBB",
}
SEX_COLOURS = {"male": "#0072B2", "female": "#E69F00"}
INK = "#222222"
MUTED = "#777777"
GRID = "#E4E4E4"
A4_WIDTH_IN = 7.0  # fits an A4 page with 2 cm margins

_RTL = re.compile(r"[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]")

plt.rcParams.update(
    {
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.edgecolor": MUTED,
        "axes.labelcolor": INK,
        "axes.titlesize": 10,
        "axes.titleweight": "bold",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "xtick.color": INK,
        "ytick.color": INK,
        "svg.hashsalt": "undercount",
        "svg.fonttype": "path",
    }
)


@dataclass(frozen=True)
class Chart:
    """One embedded figure.

    Attributes:
        key: a stable identifier (used as the HTML id).
        title: the caption's heading.
        uri: ``data:image/svg+xml;base64,...`` of the drawing.
        alt: a text description for screen readers and print.
        width_in, height_in: the drawing's size in inches.
    """

    key: str
    title: str
    uri: str
    alt: str
    width_in: float
    height_in: float


def shape_label(text: object) -> str:
    """A label matplotlib can draw: Arabic/Hebrew letters shaped and put in visual order.

    Args:
        text: any value; None and NaN become 'unknown'.

    Returns:
        The text, reshaped and reordered when it holds right-to-left letters.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return "unknown"
    value = str(text)
    if not _RTL.search(value):
        return value
    import arabic_reshaper
    from bidi import get_display

    return str(get_display(arabic_reshaper.reshape(value)))


_SVG_SIZE = re.compile(rb'<svg[^>]*?width="([\d.]+)pt"[^>]*?height="([\d.]+)pt"')


def _chart(fig: Figure, key: str, title: str, alt: str) -> Chart:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    size = _SVG_SIZE.search(svg[:2000])
    width, height = (float(size[1]) / 72, float(size[2]) / 72) if size else tuple(fig.get_size_inches())
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    return Chart(key=key, title=title, uri=uri, alt=alt, width_in=float(width), height_in=float(height))


def _grid(ax: Axes, axis: Literal["x", "y"] = "x") -> None:
    ax.grid(axis=axis, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def _thousands(ax: Axes, axis: str = "x") -> None:
    fmt = matplotlib.ticker.FuncFormatter(lambda v, _: f"{abs(v):,.0f}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


AGE_BANDS = [(lo, lo + 4) for lo in range(0, 80, 5)] + [(80, 200)]


def age_band(age: float) -> str:
    """The 5-year band of an age ('0-4' ... '75-79', '80+')."""
    lo = min(int(age) // 5 * 5, 80)
    return "80+" if lo >= 80 else f"{lo}-{lo + 4}"


def age_sex_pyramid(persons: pd.DataFrame) -> Chart | None:
    """Age-sex pyramid of documented persons.

    Args:
        persons: one row per person with columns ``age`` and ``sex``.

    Returns:
        The chart, or None when no person has both age and sex.
    """
    known = persons.dropna(subset=["age", "sex"])
    known = known[known["sex"].isin(["male", "female"]) & (known["age"] >= 0)]
    if known.empty:
        return None
    labels = [age_band(lo) for lo, _ in AGE_BANDS]
    bands = known["age"].map(age_band)
    table = pd.crosstab(bands, known["sex"]).reindex(index=labels, columns=["male", "female"], fill_value=0)
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 3.8), layout="constrained")
    y = np.arange(len(labels))
    ax.barh(y, -table["male"], color=SEX_COLOURS["male"], label="male", height=0.82)
    ax.barh(y, table["female"], color=SEX_COLOURS["female"], label="female", height=0.82)
    peak = max(int(table.to_numpy().max()), 1)
    ax.set_xlim(-peak * 1.18, peak * 1.18)
    for yi, (m, f) in enumerate(zip(table["male"], table["female"])):
        if m:
            ax.text(-m - peak * 0.015, yi, f"{m:,}", ha="right", va="center", fontsize=7, color=MUTED)
        if f:
            ax.text(f + peak * 0.015, yi, f"{f:,}", ha="left", va="center", fontsize=7, color=MUTED)
    ax.set_yticks(y, labels)
    ax.axvline(0, color=INK, linewidth=0.8)
    _thousands(ax)
    _grid(ax)
    ax.set_xlabel("documented persons")
    ax.set_ylabel("age (years)")
    ax.legend(loc="lower center", frameon=False, ncols=2, bbox_to_anchor=(0.5, 1.0))
    alt = f"Age-sex pyramid of {len(known):,} documented persons with known age and sex."
    return _chart(fig, "pyramid", "Documented persons by age and sex", alt)


def _age_start(group: str) -> float:
    """The first age of an age group label ('18-59' -> 18); unknown labels last."""
    found = re.match(r"\d+", str(group))
    return float(found[0]) if found else 1e9


def estimated_pyramid(strata: pd.DataFrame, *, population: str = "victims") -> Chart | None:
    """The estimated age-sex pyramid beside the documented one, by the strata's age groups.

    Args:
        strata: one row per stratum with ``age_group``, ``sex``, ``documented``, ``estimate``,
            ``lower``, ``upper`` and ``estimable`` (the estimate's strata by age group and sex).
        population: who the estimate counts ('killed'), named in the title.

    Returns:
        The chart, or None unless every stratum is one age group of one sex, estimated.
    """
    if strata.empty or not strata["estimable"].all() or strata["estimate"].isna().any():
        return None
    if not strata["sex"].isin(["male", "female"]).all() or strata["age_group"].str.contains(r"\+\d|\d\+\w", regex=True).any():
        return None
    groups = sorted(strata["age_group"].unique(), key=_age_start)
    if strata.duplicated(["age_group", "sex"]).any():
        return None
    table = strata.set_index(["age_group", "sex"])
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 1.2 + 0.7 * len(groups)), layout="constrained")
    y = np.arange(len(groups))
    peak = 1.0
    for sex, sign in (("male", -1.0), ("female", 1.0)):
        rows = table.xs(sex, level="sex").reindex(groups)
        est, doc = rows["estimate"].fillna(0).to_numpy(float), rows["documented"].fillna(0).to_numpy(float)
        lo = rows["lower"].fillna(rows["estimate"]).to_numpy(float)
        hi = rows["upper"].to_numpy(float)
        ax.barh(y + 0.2, sign * est, height=0.38, color=SEX_COLOURS[sex], alpha=0.45,
                label=f"{sex}, estimated (line: 95% interval)")
        ax.barh(y - 0.2, sign * doc, height=0.38, color=SEX_COLOURS[sex], label=f"{sex}, documented")
        for yi, a, b in zip(y.tolist(), lo.tolist(), hi.tolist()):
            ax.plot([sign * a, sign * (b if np.isfinite(b) else a)], [yi + 0.2, yi + 0.2], color=INK, linewidth=1.2)
        finite = hi[np.isfinite(hi)]
        peak = max(peak, float(est.max()), float(finite.max()) if finite.size else 0.0)
    ax.set_xlim(-peak * 1.1, peak * 1.1)
    ax.set_yticks(y, groups)
    ax.axvline(0, color=INK, linewidth=0.8)
    _thousands(ax)
    _grid(ax)
    ax.set_xlabel("persons (men to the left, women to the right)")
    ax.set_ylabel("age group (years)")
    ax.legend(loc="lower center", frameon=False, ncols=2, bbox_to_anchor=(0.5, 1.0), fontsize=7)
    alt = (f"Estimated and documented persons in {len(groups)} age groups by sex; the estimated bars carry "
           "their 95% intervals.")
    return _chart(fig, "estimated_pyramid", f"Estimated and documented by age and sex: {population}", alt)


def weekly_counts(persons: pd.DataFrame) -> Chart | None:
    """Persons by week of the event, stacked by status.

    Args:
        persons: one row per person with ``event_date`` and ``status``.

    Returns:
        The chart, or None when no event date is known.
    """
    dated = persons.dropna(subset=["event_date"]).copy()
    if dated.empty:
        return None
    dates = pd.to_datetime(dated["event_date"])
    dated["week"] = (dates - pd.to_timedelta(dates.dt.day_of_week, unit="D")).dt.normalize()
    dated["status"] = dated["status"].fillna("unknown")
    table = pd.crosstab(dated["week"], dated["status"])
    weeks = pd.date_range(table.index.min(), table.index.max(), freq="7D")
    table = table.reindex(weeks, fill_value=0)
    order = [s for s in STATUS_COLOURS if s in table.columns] + [s for s in table.columns if s not in STATUS_COLOURS]
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 2.9), layout="constrained")
    bottom = np.zeros(len(table))
    for status in order:
        ax.bar(table.index, table[status], bottom=bottom, width=6.0, align="edge",
               color=STATUS_COLOURS.get(status, "#BBBBBB"), label=status, linewidth=0)
        bottom += table[status].to_numpy()
    ax.set_ylabel("persons per week")
    _thousands(ax, "y")
    _grid(ax, "y")
    fig.autofmt_xdate(rotation=0, ha="center")
    # matplotlib.dates ships no stub and ConciseDateFormatter.__init__ is unannotated.
    concise = matplotlib.dates.ConciseDateFormatter(ax.xaxis.get_major_locator())  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(concise)
    if len(order) > 1:
        ax.legend(frameon=False, ncols=len(order), loc="upper left", bbox_to_anchor=(0, 1.12))
    alt = f"Persons by week of the event, {len(weeks)} weeks from {weeks[0]:%d %b %Y}."
    return _chart(fig, "weekly", "Persons by week of the event", alt)


def place_counts(persons: pd.DataFrame, *, top: int = 15) -> Chart | None:
    """Persons by place, the ``top`` most frequent places and the rest together.

    Args:
        persons: one row per person with ``place``.
        top: how many places to show by name.

    Returns:
        The chart, or None when no place is known.
    """
    counts = persons["place"].dropna().value_counts()
    if counts.empty:
        return None
    if len(counts) > top:
        counts = pd.concat([counts.iloc[:top], pd.Series({"other places": counts.iloc[top:].sum()})])
    unknown = int(persons["place"].isna().sum())
    if unknown:
        counts = pd.concat([counts, pd.Series({"unknown": unknown})])
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 0.9 + 0.26 * len(counts)), layout="constrained")
    y = np.arange(len(counts))[::-1]
    colours = ["#BBBBBB" if k in ("unknown", "other places") else PALETTE[0] for k in counts.index]
    ax.barh(y, counts.to_numpy(), color=colours, height=0.75)
    for yi, v in zip(y.tolist(), counts.to_numpy()):
        ax.text(float(v), yi, f" {v:,}", va="center", fontsize=8, color=MUTED)
    ax.set_yticks(y, [shape_label(k) for k in counts.index])
    ax.set_xlim(0, counts.max() * 1.15)
    _thousands(ax)
    _grid(ax)
    ax.set_xlabel("persons")
    return _chart(fig, "places", "Persons by place", f"Persons in {len(counts)} places.")


def _bar_panel(ax: Axes, counts: pd.Series, colours: dict[str, str], title: str) -> None:
    y = np.arange(len(counts))[::-1]
    ax.barh(y, counts.to_numpy(), color=[colours.get(k, "#BBBBBB") for k in counts.index], height=0.7)
    total = max(int(counts.sum()), 1)
    for yi, v in zip(y, counts.to_numpy()):
        ax.text(v, yi, f" {v:,} ({v / total:.0%})", va="center", fontsize=8, color=MUTED)
    ax.set_yticks(y, [str(k).replace("_", " ") for k in counts.index])
    ax.set_xlim(0, max(counts.max(), 1) * 1.45)
    ax.set_title(title, loc="left")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4, integer=True))
    _thousands(ax)
    _grid(ax)


def status_cause(persons: pd.DataFrame) -> Chart | None:
    """Persons by status and by cause of death or injury (a panel for each that is known for anyone).

    Args:
        persons: one row per person with ``status`` and ``cause``.

    Returns:
        The chart, or None when neither is known for anyone.
    """
    status = persons["status"].fillna("unknown").value_counts()
    cause = persons["cause"].fillna("unknown").value_counts()
    status = status.reindex([s for s in STATUS_COLOURS if s in status.index] +
                            [s for s in status.index if s not in STATUS_COLOURS])
    cause = cause.reindex([c for c in CAUSE_COLOURS if c in cause.index] +
                          [c for c in cause.index if c not in CAUSE_COLOURS])
    panels = [(counts, colours, title) for counts, colours, title in
              ((status, STATUS_COLOURS, "Status"), (cause, CAUSE_COLOURS, "Cause"))
              if not counts.drop("unknown", errors="ignore").empty]
    if not panels:
        return None
    rows = max(len(p[0]) for p in panels)
    fig, axes = plt.subplots(1, 2, figsize=(A4_WIDTH_IN, 0.9 + 0.3 * rows), layout="constrained")
    for ax, (counts, colours, title) in zip(axes, panels):
        _bar_panel(ax, counts, colours, title)
    if len(panels) == 1:
        axes[1].axis("off")
        axes[1].text(0, 0.5, f"{'cause' if panels[0][2] == 'Status' else 'status'} not recorded", color=MUTED)
    alt = "Persons by " + " and by ".join(t.lower() for *_, t in panels) + ": " + ", ".join(
        f"{k} {v:,}" for counts, *_ in panels for k, v in counts.items()) + "."
    return _chart(fig, "status-cause", " and ".join(t for *_, t in panels), alt)


def upset(memberships: pd.DataFrame, *, top: int = 20) -> Chart | None:
    """An UpSet figure of list overlaps: persons per combination of lists.

    Args:
        memberships: one row per person, one boolean column per list.
        top: the most frequent combinations to draw.

    Returns:
        The chart, or None with fewer than one list or no person.
    """
    lists = list(memberships.columns)
    if not lists or memberships.empty:
        return None
    patterns = memberships.astype(bool).value_counts().sort_values(ascending=False).iloc[:top]
    sizes = memberships.astype(bool).sum()
    n_pat, n_lists = len(patterns), len(lists)
    fig = plt.figure(figsize=(A4_WIDTH_IN, 2.6 + 0.32 * n_lists), layout="constrained")
    longest = max(len(str(c)) for c in lists)
    grid = fig.add_gridspec(2, 3, width_ratios=[1, 0.08 + 0.075 * min(longest, 30), 3.4],
                            height_ratios=[2.6, 0.32 * n_lists + 0.2], wspace=0.02, hspace=0.05)
    bars, dots = fig.add_subplot(grid[0, 2]), fig.add_subplot(grid[1, 2])
    setbars, names = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
    x = np.arange(n_pat)
    bars.bar(x, patterns.to_numpy(), color=INK, width=0.6)
    for xi, v in zip(x.tolist(), patterns.to_numpy()):
        bars.text(xi, float(v), f"{v:,}", ha="center", va="bottom", fontsize=7, color=INK)
    bars.set_xlim(-0.6, n_pat - 0.4)
    bars.set_xticks([])
    bars.set_ylabel("persons")
    bars.spines["bottom"].set_visible(False)
    _thousands(bars, "y")
    _grid(bars, "y")
    y = np.arange(n_lists)[::-1]
    for yi in y[::2]:
        dots.axhspan(yi - 0.5, yi + 0.5, color="#F4F4F4", zorder=0)
    for xi, combo in enumerate(patterns.index):
        on = [y[k] for k, flag in enumerate(combo) if flag]
        dots.scatter([xi] * n_lists, y, s=36, color="#D9D9D9", zorder=2)
        dots.scatter([xi] * len(on), on, s=36, color=INK, zorder=3)
        if len(on) > 1:
            dots.plot([xi, xi], [min(on), max(on)], color=INK, linewidth=2, zorder=2)
    dots.set_xlim(-0.6, n_pat - 0.4)
    dots.set_ylim(-0.5, n_lists - 0.5)
    dots.set_xticks([])
    dots.set_yticks([])
    names.set_ylim(-0.5, n_lists - 0.5)
    names.axis("off")
    for yi, name in zip(y, lists):
        names.text(0.5, yi, shape_label(name), ha="center", va="center", fontsize=9, color=INK)
    for spine in dots.spines.values():
        spine.set_visible(False)
    colours = [PALETTE[k % len(PALETTE)] for k in range(n_lists)]
    setbars.barh(y, sizes.to_numpy(), color=colours, height=0.6)
    setbars.set_ylim(-0.5, n_lists - 0.5)
    setbars.invert_xaxis()
    setbars.set_yticks([])
    setbars.spines["left"].set_visible(False)
    setbars.spines["right"].set_visible(False)
    setbars.set_xlabel("list size")
    setbars.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(3))
    _thousands(setbars)
    alt = f"Persons on each combination of {n_lists} lists ({n_pat} combinations shown)."
    return _chart(fig, "upset", "Who is on which lists", alt)


def _forest_panel(ax: Axes, rows: pd.DataFrame) -> None:
    """One panel of the forest plot: a row per stratum, on its own scale."""
    n = len(rows)
    finite = pd.concat([rows["documented"], rows["estimate"], rows["lower"], rows["upper"]]).dropna()
    xmax = float(finite.max()) * 1.12 if not finite.empty else 1.0
    y = np.arange(n)[::-1]
    for yi, row in zip(y.tolist(), rows.to_dict("records")):
        total = bool(row["is_total"])
        colour = INK if total else PALETTE[0]
        ax.plot([row["documented"]], [yi], marker="|", markersize=11, markeredgewidth=1.6, color=MUTED, zorder=3)
        if not row["estimable"] or pd.isna(row["estimate"]):
            ax.text(row["documented"], yi, "   not estimable", va="center", fontsize=8, color="#B00020")
            continue
        lo = row["documented"] if pd.isna(row["lower"]) else row["lower"]
        if pd.isna(row["upper"]):
            ax.annotate("", xy=(xmax, yi), xytext=(lo, yi),
                        arrowprops={"arrowstyle": "->", "color": colour, "linewidth": 1.6})
            ax.text(xmax, yi + 0.28, "no finite upper limit", ha="right", fontsize=7, color="#B00020")
        else:
            ax.plot([lo, row["upper"]], [yi, yi], color=colour, linewidth=2.4 if total else 1.8, zorder=2)
        ax.plot([row["estimate"]], [yi], marker="D" if total else "o", markersize=7 if total else 5.5,
                color=colour, zorder=4)
    labels = [shape_label(lbl) + ("  (!)" if w else "") for lbl, w in zip(rows["label"], rows["n_warnings"])]
    ax.set_yticks(y, labels)
    for tick, total in zip(ax.get_yticklabels(), rows["is_total"]):
        if total:
            tick.set_fontweight("bold")
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlim(0, xmax)
    _thousands(ax)
    _grid(ax)


def forest(estimates: pd.DataFrame, *, population: str = "victims") -> Chart | None:
    """Forest plot of estimates by stratum, with the documented count beside each interval.

    The total, when there are strata too, gets its own panel and scale above the strata, so that
    the strata's intervals are not squeezed against zero.

    Args:
        estimates: rows with ``label``, ``documented``, ``estimate``, ``lower``, ``upper``,
            ``estimable``, ``is_total`` and ``n_warnings``.
        population: who the estimate counts ('killed'), named in the title.

    Returns:
        The chart, or None without rows.
    """
    if estimates.empty:
        return None
    rows = estimates.reset_index(drop=True)
    totals, strata = rows[rows["is_total"]], rows[~rows["is_total"]]
    panels = [p for p in (totals, strata) if len(p)]
    heights = [len(p) for p in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(A4_WIDTH_IN, 1.0 + 0.34 * len(rows) + 0.4 * (len(panels) - 1)),
                             layout="constrained", squeeze=False, gridspec_kw={"height_ratios": heights})
    for ax, panel in zip(axes[:, 0], panels):
        _forest_panel(ax, panel)
    axes[-1, 0].set_xlabel("persons (| documented, ● estimate with 95% interval)")
    if len(panels) == 2:
        axes[0, 0].set_title("total", loc="left", fontsize=8, color=MUTED, fontweight="normal")
        axes[1, 0].set_title("by group (own scale)", loc="left", fontsize=8, color=MUTED, fontweight="normal")
    alt = f"Estimates with 95% intervals for {len(rows)} rows (strata and total)."
    return _chart(fig, "forest", f"Estimated total by group: {population}", alt)


def model_range(models: Sequence[dict[str, object]], *, documented: float | None = None,
                lower: float | None = None, upper: float | None = None) -> Chart | None:
    """The range across models: one row per model with its interval, the headline marked and drawn first.

    Args:
        models: the fits of the range (``label``, ``estimate``, ``lower``, ``upper``, ``headline``,
            ``admissible``), as :meth:`undercount.estimate.models.ModelRange.to_dict` stores them.
        documented: the persons documented (a grey line), if known.
        lower, upper: the range's ends (shaded; ``upper`` None: no finite upper limit).

    Returns:
        The chart, or None when fewer than two models have an estimate.
    """
    rows = [m for m in models if m.get("estimate") is not None]
    if len(rows) < 2:
        return None
    values = [float(v) for m in rows for v in (m.get("estimate"), m.get("lower"), m.get("upper"))
              if isinstance(v, (int, float))] + ([float(documented)] if documented else [])
    xmax = max(values) * 1.1
    xmin = min(values) * 0.9
    n = len(rows)
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 0.9 + 0.32 * n), layout="constrained")
    if lower is not None:
        ax.axvspan(lower, upper if upper is not None else xmax, color=PALETTE[4], alpha=0.15, zorder=0)
    if documented:
        ax.axvline(float(documented), color=MUTED, linewidth=1.0, linestyle=":", zorder=1)
    y = np.arange(n)[::-1]
    for yi, row in zip(y.tolist(), rows):
        head, floor = bool(row.get("headline")), not row.get("admissible", True)
        colour = INK if head else (MUTED if floor else PALETTE[0])
        est = float(row["estimate"])  # type: ignore[arg-type]
        lo_v, hi_v = row.get("lower"), row.get("upper")
        lo = float(lo_v) if isinstance(lo_v, (int, float)) else est
        if isinstance(hi_v, (int, float)):
            ax.plot([lo, float(hi_v)], [yi, yi], color=colour, linewidth=2.6 if head else 1.6,
                    linestyle="--" if floor else "-", zorder=2)
        else:
            ax.annotate("", xy=(xmax, yi), xytext=(lo, yi), arrowprops={"arrowstyle": "->", "color": colour})
        ax.plot([est], [yi], marker="D" if head else ("^" if floor else "o"), markersize=7 if head else 5,
                color=colour, zorder=3)
    ax.set_yticks(y, [shape_label(str(m.get("label"))) for m in rows])
    for tick, row in zip(ax.get_yticklabels(), rows):
        if row.get("headline"):
            tick.set_fontweight("bold")
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlim(xmin, xmax)
    ax.set_xlabel("persons (◆ headline, ● other plausible models, ▲ a floor; shaded: the range across models)")
    _thousands(ax)
    _grid(ax)
    end = "no finite upper limit" if upper is None else f"{upper:,.0f}"
    alt = (f"Estimates of {n} models with their intervals; the range across models runs from "
           f"{(lower or 0):,.0f} to {end}.")
    return _chart(fig, "range", "How much the estimate depends on the model", alt)


def probability_histogram(probabilities: pd.Series, *, threshold: float | None,
                          band: tuple[float, float] | None) -> Chart | None:
    """Histogram of candidate-pair match probabilities, with the threshold and the review band.

    Args:
        probabilities: one value per candidate pair.
        threshold: the clustering threshold, if known.
        band: (low, high) of the review band, if any.

    Returns:
        The chart, or None without pairs.
    """
    values = probabilities.dropna().clip(0, 1)
    if values.empty:
        return None
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 2.5), layout="constrained")
    if band is not None:
        ax.axvspan(band[0], band[1], color="#F0E442", alpha=0.35, label="review band", linewidth=0)
    ax.hist(values, bins=np.linspace(0, 1, 41).tolist(), color=PALETTE[0], log=True)
    if threshold is not None:
        ax.axvline(threshold, color="#D55E00", linewidth=1.5, label=f"threshold {threshold:g}")
    ax.set_xlim(0, 1)
    ax.set_xlabel("match probability")
    ax.set_ylabel("candidate pairs (log)")
    _grid(ax, "y")
    ax.legend(frameon=False, loc="upper center")
    alt = f"Match probabilities of {len(values):,} candidate pairs."
    return _chart(fig, "pairs", "Match probability of candidate pairs", alt)


def cluster_sizes(sizes: pd.Series) -> Chart | None:
    """Persons by number of records (1, 2, 3, ... records per person).

    Args:
        sizes: records per person.

    Returns:
        The chart, or None without persons.
    """
    if sizes.empty:
        return None
    counts = sizes.clip(upper=8).value_counts().sort_index()
    labels: Sequence[str] = [f"{k}" if k < 8 else "8+" for k in counts.index]
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN * 0.55, 2.3), layout="constrained")
    ax.bar(labels, counts.to_numpy(), color=PALETTE[2], width=0.7)
    for xi, v in enumerate(counts.to_numpy()):
        ax.text(xi, float(v), f"{v:,}", ha="center", va="bottom", fontsize=7, color=INK)
    ax.set_xlabel("records per person")
    ax.set_ylabel("persons")
    _thousands(ax, "y")
    _grid(ax, "y")
    return _chart(fig, "cluster-sizes", "Records per person", f"{len(sizes):,} persons by number of records.")
