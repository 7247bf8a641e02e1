"""End to end on the real lists: does the default chain find the true total? (issue 13)

Each seed builds a case with a known total from the real Gaza lists in ../shared/data:

* the population is the ministry list of 2024-08 (``gaza_moh_20240831_raw.csv``, 34,344 people;
  ``--people`` draws a random subset), each person with the name as the ministry wrote it (PDF
  extraction damage included), sex, age, date of birth and ID number; siblings (same father,
  grandfather and family name) form a household;
* three lists are sampled from it, each through the project's own recording-error model
  (``undercount.simulate``):
  - ``hospital``: 60%, Arabic names, ID numbers and dates of birth, few errors (UTF-8 CSV);
  - ``survey``: 30%, Arabic names with name errors (typos, spelling variants, dropped and swapped
    parts, joined compounds), half the ID numbers, ages with heaping, sampled by household and
    **negatively dependent** on the hospital list (being on it lowers the logit of being on the
    survey by 0.8), written in **Windows-1256**;
  - ``obituaries``: 30%, **English only** (no ID, no date of birth), 40% of ages missing, fewer
    children and more adult men; each person's name is romanised by one of three schemes:
    ``noise`` (the project's own, ``undercount.names.spellings.transliterate``: spellings drawn
    from the shipped dictionary and its rules), ``tfp`` (the machine transliteration ``en_name``
    of ``tfp_killed_in_gaza_20240921.csv``, learnt token by token from its rows whose Arabic and
    English names have as many tokens: 44% of its tokens are spellings the project never
    produces) and ``rules`` (a francophone letter-by-letter scheme written here: ch, dj, ou,
    el-, vowels guessed); 3% of names have a space moved by one letter (``MohammedN ajjar``);
* all three lists share a latent class of people (20%) who are harder to list (heterogeneity).

Then it runs what a user runs, with the defaults: import each file, ``link_case``, and
``estimate_with_linkage`` (20 linkage draws, strata by the default rule, method auto). It also
estimates from the **true** links (``oracle``): the model's own error, without linkage errors.

Printed per seed and in summary (figures only, never a name): the estimate's error against the
true total, whether the 95% interval covers it, the same for the single best linkage and the
oracle, and per list pair the pairwise recall and precision of the linkage, the share of true
pairs that blocking proposes (``block``), that are stored with a probability above the floor
(``stored``), and recall per romanisation scheme of the obituaries' cross-list pairs.

``--keep DIR`` keeps each seed's linked case (and its truth as record ids, in DIR/seed-N) and
``--reuse DIR`` estimates copies of them again (a changed estimator, without the linking);
``--skip-rule NAME`` leaves one default blocking rule out (``LinkOptions.skip_blocking``) to
measure what a blocking gap costs; ``--no-estimate`` stops after linking (the linkage and
missed-pair figures only, about a fifth of the CPU of a seed); ``--true-tables VARIANT`` runs only
the estimators on each seed's true capture tables (no lists, no linkage), under the bench's capture
model or one without its hospital -> survey dependence or its latent class (``VARIANTS``).

Usage:
    .venv/bin/python bench/end_to_end.py [--seeds 10] [--quick] [--people N] [--draws 20]
        [--workers 1] [--skip-rule 'sorted name keys'] [--no-estimate] [--out bench/out/end_to_end.csv]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
# ../shared next to the repository; UNDERCOUNT_SHARED names it elsewhere (e.g. from a worktree)
DATA = Path(os.environ.get("UNDERCOUNT_SHARED", ROOT.parent / "shared")) / "data"
POPULATION_FILE = "gaza_moh_20240831_raw.csv"
TFP_FILE = "tfp_killed_in_gaza_20240921.csv"
LISTS = ("hospital", "survey", "obituaries")
SCHEMES = {"noise": 0.5, "tfp": 0.4, "rules": 0.1}

# Raw tokens that form one name part with their neighbour (compounds written with a space).
_PREFIXES = frozenset(("عبد", "ابو", "أبو", "ال"))
_SUFFIXES = frozenset(("الله", "هللا", "الدين", "الاسلام"))


# --------------------------------------------------------------------------------------------
# the population


def name_units(raw: str) -> list[str]:
    """The parts of a raw Arabic name: tokens, a compound written with a space kept as one part."""
    units: list[str] = []
    for token in raw.split():
        if units and token in _SUFFIXES:
            units[-1] = f"{units[-1]} {token}"
        else:
            units.append(token)
    out: list[str] = []
    for unit in reversed(units):
        if out and unit in _PREFIXES:
            out[-1] = f"{unit} {out[-1]}"
        else:
            out.append(unit)
    return out[::-1]


def _parts(units: list[str]) -> tuple[str | None, str | None, str | None, str | None]:
    """given, father, grandfather (every middle part), family."""
    n = len(units)
    return (
        units[0] if n else None,
        units[1] if n >= 3 else None,
        " ".join(units[2:-1]) if n >= 4 else None,
        units[-1] if n >= 2 else None,
    )


def load_population(data: Path) -> pd.DataFrame:
    """The ministry list as a population in the simulator's columns (one row per person)."""
    from undercount.names.normalise import parse_names

    raw = pd.read_csv(data / POPULATION_FILE, dtype=str, keep_default_na=False)
    split = list(zip(*[_parts(name_units(n)) for n in raw["name_ar_raw"]]))
    parts = {c: pd.Series(split[i], dtype=object) for i, c in enumerate(("given", "father", "grandfather", "family"))}
    norm = parse_names(raw["name_ar_raw"])
    key = norm["father"].astype(object) + "|" + norm["grandfather"].astype(object) + "|" + norm["family"].astype(object)
    codes = pd.factorize(key.where(norm[["father", "grandfather", "family"]].notna().all(axis=1)))[0]
    lonely = codes < 0
    codes[lonely] = codes.max() + 1 + np.arange(int(lonely.sum()))
    ids = raw["id"].str.strip()
    ids = ids.where(~ids.str.fullmatch(r"\d{1,8}"), ids.str.zfill(9))
    n = len(raw)
    frame = pd.DataFrame({
        "person_id": [f"P{i:06d}" for i in range(1, n + 1)],
        **parts,
        "sex": raw["sex"].str.upper().map({"M": "male", "F": "female"}).astype(object),
        "age": pd.to_numeric(raw["age"], errors="coerce").astype("Int64"),
        "date_of_birth": pd.to_datetime(raw["dob"], errors="coerce").to_numpy(dtype="datetime64[D]"),
        "id_number": ids.astype(object),
        "event_date": np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
        "place": None, "status": "killed", "role": "none", "household_family": None,
        "household_id": codes, "unrecovered": False, "killed_together": False, "wiped_out": False,
    })
    return frame


# --------------------------------------------------------------------------------------------
# romanisation schemes of the obituary list

_RULES = {
    "ا": "a", "أ": "a", "إ": "i", "آ": "a", "ء": "", "ؤ": "ou", "ئ": "i", "ب": "b", "ت": "t", "ث": "th",
    "ج": "dj", "ح": "h", "خ": "kh", "د": "d", "ذ": "dh", "ر": "r", "ز": "z", "س": "s", "ش": "ch", "ص": "s",
    "ض": "d", "ط": "t", "ظ": "dh", "ع": "", "غ": "gh", "ف": "f", "ق": "k", "ك": "k", "ل": "l", "م": "m",
    "ن": "n", "ه": "h", "ة": "a", "و": "ou", "ى": "a", "ي": "i",
}
_VOWELS = frozenset("aeiou")


def romanise_rules(token: str) -> str:
    """A francophone letter-by-letter romanisation (not the shipped dictionary's): 'e' between
    two consonants, ch, dj, ou, the article written 'El-'."""
    article = token.startswith("ال") and len(token) > 3
    body = token[2:] if article else token
    pieces = [_RULES.get(ch, "") for ch in body]
    pieces = [p for p in pieces if p]
    out = ""
    for piece in pieces:
        if out and out[-1] not in _VOWELS and piece[0] not in _VOWELS:
            out += "e"
        out += piece
    out = out.capitalize() or "X"
    return f"El-{out}" if article else out


def tfp_token_map(data: Path) -> dict[str, str]:
    """Arabic token -> the English token TFP's machine transliteration most often gives it."""
    tfp = pd.read_csv(data / TFP_FILE, dtype=str, keep_default_na=False, usecols=["name", "en_name"])
    seen: dict[str, Counter[str]] = {}
    for ar, en in zip(tfp["name"], tfp["en_name"]):
        a, e = ar.split(), en.split()
        if len(a) == len(e):
            for x, y in zip(a, e):
                seen.setdefault(x, Counter())[y] += 1
    return {k: c.most_common(1)[0][0] for k, c in seen.items()}


@dataclass
class Romaniser:
    """Writes an obituary list's Arabic name parts in Latin letters, a scheme per person."""

    scheme: dict[str, str]
    tfp: dict[str, str]
    boundary: float = 0.03
    tally: Counter[str] = field(default_factory=Counter)

    def part(self, value: object, scheme: str, rng: np.random.Generator) -> str | None:
        from undercount.names.spellings import transliterate

        if not isinstance(value, str) or not value:
            return None
        if scheme == "noise":
            return transliterate(value, rng)
        if scheme == "tfp":
            words = []
            for tok in value.split():
                if tok in self.tfp:
                    words.append(self.tfp[tok])
                    self.tally["tfp token"] += 1
                else:
                    words.append(romanise_rules(tok))
                    self.tally["tfp token missing, rules"] += 1
            return " ".join(words)
        return " ".join(romanise_rules(tok) for tok in value.split())

    def __call__(self, records: pd.DataFrame, rng: np.random.Generator) -> None:
        from undercount.simulate.noise import NAME_PARTS, as_text

        schemes = records["person_id"].map(self.scheme).fillna("noise").to_numpy(dtype=object)
        for part in NAME_PARTS:
            values = records[part].to_numpy(dtype=object)
            records[part] = as_text(np.array([self.part(v, s, rng) for v, s in zip(values, schemes)], dtype=object),
                                    records.index)
        self._move_spaces(records, rng)

    def _move_spaces(self, records: pd.DataFrame, rng: np.random.Generator) -> None:
        """A space moved by one letter between two neighbouring parts (``MohammedN ajjar``)."""
        from undercount.simulate.noise import NAME_PARTS

        cols = [records.columns.get_loc(p) for p in NAME_PARTS]
        for i in np.flatnonzero(rng.random(len(records)) < self.boundary):
            present = [c for c in cols if isinstance(records.iat[i, c], str) and len(records.iat[i, c]) >= 3]
            if len(present) < 2:
                continue
            k = int(rng.integers(len(present) - 1))
            a, b = records.iat[i, present[k]], records.iat[i, present[k + 1]]
            if rng.random() < 0.5:
                a, b = a + b[0].upper(), b[1:]
            else:
                a, b = a[:-1], a[-1] + b
            records.iat[i, present[k]], records.iat[i, present[k + 1]] = a, b
            self.tally["space moved"] += 1


# --------------------------------------------------------------------------------------------
# the lists


def list_configs() -> tuple[Any, tuple[Any, ...]]:
    """The three lists (ListConfig) and the capture model (SimulationConfig)."""
    from undercount.simulate.config import (
        ErrorConfig,
        ListConfig,
        PopulationConfig,
        SimulationConfig,
    )

    latent = (0.0, -0.7)
    secondary = ErrorConfig(
        typo=0.03, variant=0.08, drop_grandfather=0.08, swap_parts=0.01, missing_part=0.03,
        age_heaping=0.12, age_off_by_one=0.08, age_missing=0.05, sex_missing=0.03,
        id_missing=0.5, id_typo=0.03, date_shift=0.0, date_missing=0.0, duplicate=0.03,
        married_name=0.0, reported_missing=0.0,
    )
    hospital = ListConfig(
        name="hospital", kind="hospital", capture=0.6, effects={"elderly": -0.3}, latent_effects=latent,
        fields=("id", "name", "sex", "age", "dob"), script="arabic", headers="arabic", file_format="csv",
        encoding="utf-8", sex_values="arabic", default_status="killed",
        errors=ErrorConfig(typo=0.015, variant=0.04, drop_grandfather=0.02, age_heaping=0.0, age_off_by_one=0.02,
                           age_missing=0.01, id_missing=0.02, id_typo=0.008, date_shift=0.0, date_missing=0.0,
                           duplicate=0.02, married_name=0.0, reported_missing=0.0),
    )
    survey = ListConfig(
        name="survey", kind="survey", capture=0.3, effects={"child": 0.2}, latent_effects=latent, household_sd=0.8,
        fields=("id", "name", "sex", "age"), script="arabic", headers="arabic", file_format="csv",
        encoding="cp1256", sex_values="arabic", default_status="killed", errors=secondary,
    )
    obituaries = ListConfig(
        name="obituaries", kind="social", capture=0.3, effects={"child": -1.2, "adult_male": 0.4},
        latent_effects=latent, fields=("name", "age", "sex"), script="latin", headers="english",
        file_format="csv", encoding="utf-8", sex_values="mf", default_status="killed",
        errors=replace(secondary, variant=0.0, typo=0.02, age_missing=0.4, id_missing=0.0, id_typo=0.0),
    )
    lists = (hospital, survey, obituaries)
    config = SimulationConfig(
        preset="end-to-end", population=PopulationConfig(people=1, latent_shares=(0.8, 0.2)), lists=lists,
        dependence=(("hospital", "survey", -0.8),),
    )
    return config, lists


_TO_CP1256 = str.maketrans({**{chr(0x660 + d): str(d) for d in range(10)}, "\u0671": "\u0627"})


def _cp1256_safe(value: Any) -> Any:
    """A cell as a Windows-1256 file can hold it (Arabic-Indic digits, alef wasla; other letters dropped)."""
    if not isinstance(value, str):
        return value
    value = value.translate(_TO_CP1256)
    return value.encode("cp1256", errors="ignore").decode("cp1256")


@dataclass
class BuiltCase:
    """A case folder with its known truth (kept in the bench's temporary folder, never printed)."""

    true_n: int
    truth: pd.DataFrame            # list, row, person_id, scheme
    files: dict[str, tuple[Path, Path | None]]
    tally: dict[str, Any]


def sample_population(population: pd.DataFrame, seed: int, people: int | None
                      ) -> tuple[pd.DataFrame, list[np.random.Generator]]:
    """One seed's population (a random subset of ``people``, each with a latent class drawn) and the
    seed's random streams (0: the subset, 1: the classes, 2: the captures, 3: the romanisation
    schemes, 4+: the lists), as every case of the seed draws them."""
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([13, seed]).spawn(7)]
    if people is not None and people < len(population):
        population = population.iloc[np.sort(streams[0].choice(len(population), people, replace=False))]
    population = population.reset_index(drop=True).copy()
    config, _ = list_configs()
    population["latent_class"] = (streams[1].random(len(population)) < config.population.latent_shares[1]).astype(int)
    return population, streams


#: Capture models of ``--true-tables``: the bench's, without the hospital -> survey dependence, without the latent class.
VARIANTS = ("bench", "no-dependence", "no-latent")


def true_tables(population: pd.DataFrame, seed: int, people: int | None, variant: str = "bench"
                ) -> tuple[dict[str, pd.DataFrame], int]:
    """The TRUE capture tables of a seed by age group (0-17, 18-59, 60+) x sex, from the capture
    model alone (no list written, no linkage; true ages and sexes), and the persons on some list."""
    from undercount.simulate.capture import draw_captures

    population, streams = sample_population(population, seed, people)
    config, _ = list_configs()
    if variant == "no-dependence":
        config = replace(config, dependence=())
    elif variant == "no-latent":
        config = replace(config, lists=tuple(replace(lst, latent_effects=(0.0, 0.0)) for lst in config.lists))
    captured = draw_captures(population, config, streams[2]).captured.astype(int)
    seen = captured.any(axis=1)
    age = population["age"].to_numpy(dtype=float)
    group = np.where(age < 18, "0-17", np.where(age < 60, "18-59", "60+"))
    strata = pd.Series(group, dtype=object) + "|" + population["sex"].astype(str)
    out = {}
    for name in sorted(set(strata[seen])):
        rows = captured[seen & (strata == name).to_numpy()]
        out[name] = pd.DataFrame(rows, columns=list(LISTS)).value_counts().rename("count").reset_index()
    return out, int(seen.sum())


def true_table_row(population: pd.DataFrame, seed: int, people: int | None, variant: str) -> dict[str, Any]:
    """The default estimator (auto, told the list pairs the case-level test finds negatively dependent
    pooled over the strata, as a case estimate does), the BIC-best log-linear model and ``[12,3]``
    (hospital x survey) on a seed's true tables, summed over the strata: the estimator's own error,
    without linkage."""
    from undercount.estimate.auto import estimate_table, fit_table, with_pooled_dependence
    from undercount.estimate.registry import choose

    tables, documented = true_tables(population, seed, people, variant)
    n = len(population) if people is None else min(people, len(population))
    row: dict[str, Any] = {"seed": seed, "variant": variant, "true_n": n, "documented": documented}
    auto, found = with_pooled_dependence(choose("auto"), list(tables.values()), seed=seed)
    session8, _ = with_pooled_dependence(choose("auto", {"check_alpha": 0}), list(tables.values()), seed=seed)
    fits = {"auto": auto, "auto without the check": session8, "auto without the test": choose(
        "auto", {"dependence_alpha": 0}), "loglinear BIC": choose("loglinear", criterion="bic"),
            "[12,3]": choose("loglinear", model="[12,3]")}
    for name, fitting in fits.items():
        total = _total({k: fit_table(fitting, t, level=0.95, seed=seed) for k, t in tables.items()}, seed)
        row[f"{name} error"] = float(total.estimate if total.estimate is not None else np.nan) / n - 1
        if name.startswith("auto"):
            row[f"{name} covers"] = total.estimable and (total.lower or 0) <= n <= (total.upper or np.inf)
    row["negative pairs"] = "; ".join(
        f"{' x '.join(p['lists'])} (z {p['z']:+.1f}" + (f", LCMCR check p {p['check']['p_value']:.3f}"
                                                       if p.get("check", {}).get("p_value") is not None else "")
        + f", {'switched' if p['switched'] else 'LCMCR kept'})" for p in found) or "none"
    row["BIC models with [12]"] = sum("12" in str(estimate_table(t, method="loglinear", criterion="bic")
                                                  .details["models"][0]["model"]) for t in tables.values())
    return row


def _total(results: dict[str, Any], seed: int) -> Any:
    """The strata's results summed as a case estimate sums them (:func:`undercount.estimate.case._sum_strata`:
    the median and interval of the strata's draws summed; no finite upper end when a stratum has none)."""
    from undercount.estimate.case import _sum_strata, pooling_draws

    rng = np.random.default_rng(seed)
    total, _ = _sum_strata(results, {k: pooling_draws(r, 4000, rng) for k, r in results.items()}, 0.95)
    return total


def build_case(population: pd.DataFrame, tfp: dict[str, str], seed: int, out: Path, *, people: int | None,
               schemes: dict[str, float]) -> BuiltCase:
    """Sample the three lists from the population and write them (files and import specs)."""
    from undercount.simulate.capture import draw_captures
    from undercount.simulate.lists import build_list
    from undercount.simulate.writers import write_list, write_toml

    population, streams = sample_population(population, seed, people)
    config, lists = list_configs()
    captures = draw_captures(population, config, streams[2])
    names = list(schemes)
    drawn = streams[3].choice(len(names), size=len(population), p=np.array(list(schemes.values())) / sum(schemes.values()))
    scheme = dict(zip(population["person_id"], np.array(names, dtype=object)[drawn]))
    romaniser = Romaniser(scheme, tfp)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[Path, Path | None]] = {}
    truths = []
    tally: dict[str, Any] = {}
    for k, lst in enumerate(lists):
        built = build_list(population, captures.captured[:, k], lst, streams[4 + k],
                           transliterate=romaniser if lst.script == "latin" else None)
        table = built.table if lst.encoding != "cp1256" else built.table.map(_cp1256_safe)
        path = write_list(table, lst, out)
        spec = None
        if built.spec:
            spec = out / f"{lst.name}.spec.toml"
            write_toml(built.spec, spec)
        files[lst.name] = (path, spec)
        truths.append(built.truth)
        tally[lst.name] = {k2: v["rate"] for k2, v in built.tally.to_dict().items()}
    tally["romanisation"] = dict(romaniser.tally)
    truth = pd.concat(truths, ignore_index=True)
    truth["scheme"] = truth["person_id"].map(scheme)
    return BuiltCase(true_n=len(population), truth=truth, files=files, tally=tally)


# --------------------------------------------------------------------------------------------
# measuring the linkage


def _pair_table(frame: pd.DataFrame, key: list[str], lists: list[str]) -> np.ndarray:
    """Record pairs placed together by ``key``, per list pair: matrix [a, b] (a == b: within a list)."""
    counts = frame.groupby([*key, "source"], observed=True).size().unstack("source", fill_value=0)
    counts = counts.reindex(columns=lists, fill_value=0).to_numpy(dtype=np.int64)
    out = counts.T @ counts
    np.fill_diagonal(out, (counts * (counts - 1) // 2).sum(axis=0))
    return out


def pair_names(lists: list[str]) -> list[tuple[int, int, str]]:
    """(a, b, label) for every list pair, within-list pairs included."""
    return [(a, b, f"{lists[a]}-{lists[b]}" if a != b else f"{lists[a]} dups")
            for a in range(len(lists)) for b in range(a, len(lists))]


def linkage_quality(records: pd.DataFrame, lists: list[str]) -> dict[str, float | None]:
    """Pairwise recall and precision of the clusters per list pair (``records``: source, truth, person)."""
    true = _pair_table(records, ["truth"], lists)
    pred = _pair_table(records, ["person"], lists)
    both = _pair_table(records, ["truth", "person"], lists)
    out: dict[str, float | None] = {}
    for a, b, label in pair_names(lists):
        out[f"recall {label}"] = both[a, b] / true[a, b] if true[a, b] else None
        out[f"precision {label}"] = both[a, b] / pred[a, b] if pred[a, b] else None
        out[f"true pairs {label}"] = float(true[a, b])
    return out


def true_pairs(records: pd.DataFrame) -> pd.DataFrame:
    """Every true record pair (record_id_l < record_id_r) with the lists of both records."""
    left = records[["record_id", "source", "truth", "scheme"]]
    pairs = left.merge(left, on="truth", suffixes=("_l", "_r"))
    pairs = pairs[pairs["record_id_l"] < pairs["record_id_r"]]
    return pairs.reset_index(drop=True)


def blocked_pairs(case: Any, skip: tuple[str, ...]) -> pd.DataFrame | None:
    """The record pairs the default blocking rules propose (None: the case compares every pair)."""
    from undercount.link.model import LinkOptions, compare_all
    from undercount.link.run import blocked_pairs as link_blocked_pairs

    options = LinkOptions(skip_blocking=skip)
    if compare_all(len(case.records(["record_id"])), options):
        return None
    return link_blocked_pairs(case, options).rename(columns={"a": "record_id_l", "b": "record_id_r"})


def _share_found(truth_pairs: pd.DataFrame, found: pd.DataFrame | None, lists: list[str], prefix: str
                 ) -> dict[str, float | None]:
    if found is None:
        flag = np.ones(len(truth_pairs), dtype=bool)
    else:
        keys = found[["record_id_l", "record_id_r"]].drop_duplicates().assign(_hit=True)
        flag = truth_pairs.merge(keys, on=["record_id_l", "record_id_r"], how="left")["_hit"].fillna(False).to_numpy(bool)
    pos = {name: i for i, name in enumerate(lists)}
    a = truth_pairs["source_l"].map(pos).to_numpy()
    b = truth_pairs["source_r"].map(pos).to_numpy()
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    out: dict[str, float | None] = {}
    for i, j, label in pair_names(lists):
        sel = (lo == i) & (hi == j)
        out[f"{prefix} {label}"] = float(flag[sel].mean()) if sel.any() else None
    out[f"{prefix} all"] = float(flag.mean()) if len(flag) else None
    return out


def scheme_recall(records: pd.DataFrame, pairs: pd.DataFrame) -> dict[str, float | None]:
    """Recall of true pairs between an obituary and a record of another list, per romanisation scheme."""
    person = records.set_index("record_id")["person"]
    cross = pairs[(pairs["source_l"] != pairs["source_r"])
                  & ((pairs["source_l"] == "obituaries") | (pairs["source_r"] == "obituaries"))]
    linked = person.reindex(cross["record_id_l"]).to_numpy() == person.reindex(cross["record_id_r"]).to_numpy()
    scheme = np.where(cross["source_l"] == "obituaries", cross["scheme_l"], cross["scheme_r"])
    return {f"recall obituaries x other, {s}": float(linked[scheme == s].mean()) if (scheme == s).any() else None
            for s in SCHEMES}


def missed_vs_truth(records: pd.DataFrame, missed: list[dict[str, Any]], lists: list[str]) -> dict[str, float | None]:
    """The model's expected missed pairs (link.missed) and the true number, per list pair."""
    true = _pair_table(records, ["truth"], lists)
    both = _pair_table(records, ["truth", "person"], lists)
    model = {(r["list_l"], r["list_r"]): r for r in missed}
    out: dict[str, float | None] = {"true missed": float((true - both)[np.triu_indices(len(lists))].sum()),
                                    "calibrated missed": float(sum(float(r.get("calibrated_missed") or 0.0)
                                                                   for r in missed))}
    for a, b, label in pair_names(lists):
        r = model.get((min(lists[a], lists[b]), max(lists[a], lists[b])))
        out[f"true missed {label}"] = float(true[a, b] - both[a, b])
        out[f"model missed {label}"] = None if r is None else float(r["expected_missed"])
        out[f"calibrated missed {label}"] = None if r is None else float(r.get("calibrated_missed") or 0.0)
        out[f"missed low {label}"] = None if r is None else float(r.get("missed_low") or 0.0)
        out[f"missed high {label}"] = None if r is None else float(r.get("missed_high") or 0.0)
        out[f"model missed se {label}"] = None if r is None or r["missed_unstored_se"] is None else float(
            r["missed_unstored_se"])
    return out


def same_person(a: Any, b: Any) -> bool:
    """Whether two records' true persons agree: a record whose truth is missing agrees with nothing
    (two missing values are not one person)."""
    return bool(not pd.isna(a) and not pd.isna(b) and a == b)


def answer_search_sample(case: Any, records: pd.DataFrame, size: int, seed: int, *, review: bool = True) -> int:
    """Draw a search sample and answer it from the truth, as a perfect searcher (and reviewer) would:
    a list searched is answered with the true person's first record of it, or absent; a linked
    record reviewed (the review half) is the same person as the person's first record or not."""
    from undercount.review.sample import (
        draw_search_sample,
        record_answers,
        sample_items,
    )

    sample = draw_search_sample(case, size, seed=seed, username="bench", review=review)
    truth = records.set_index("record_id")["truth"]
    source = records.set_index("record_id")["source"]
    by_list = records.groupby(["truth", "source"])["record_id"].min()
    rows = []
    for item in sample_items(case, sample.sample_id).itertuples(index=False):
        own = [int(r) for r in item.record_ids]
        if not len(item.search_lists):
            rows.extend({"item": item.item, "list": source[r], "found_record_id": r,
                         "answer": "same" if same_person(truth.get(r), truth.get(own[0])) else "different"}
                        for r in own[1:])
            continue
        whose = truth.reindex(own).dropna()
        person = whose.mode().iloc[0] if len(whose) else None
        for name in item.search_lists:
            found = by_list.get((person, name)) if person is not None else None
            rows.append({"item": item.item, "list": name, "answer": "found" if found is not None else "absent",
                         "found_record_id": None if found is None else int(found)})
    return record_answers(case, pd.DataFrame(rows), sample_id=sample.sample_id, username="bench")


# --------------------------------------------------------------------------------------------
# one seed


def _covers(res: Any, true_n: int) -> bool:
    return bool(res.estimate is not None and res.lower is not None and res.lower <= true_n
                and (res.upper is None or true_n <= res.upper))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Job:
    seed: int
    people: int | None
    draws: int
    skip: tuple[str, ...]
    data: str
    workdir: str | None
    schemes: tuple[tuple[str, float], ...]
    oracle: bool = True
    imputations: int = 10
    sample: int = 300
    estimate: bool = True
    keep: str | None = None  # keep each seed's linked case (and its truth, no names) in KEEP/seed-N
    reuse: str | None = None  # estimate the cases kept by an earlier --keep (no build, import or link)
    default: bool = True  # the default estimate (False: only the sample's and the oracle's, e.g. at full size)


_CACHE: dict[str, Any] = {}


def _inputs(data: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    if "population" not in _CACHE:
        _CACHE["population"] = load_population(data)
        _CACHE["tfp"] = tfp_token_map(data)
    return _CACHE["population"], _CACHE["tfp"]


def run_seed(job: Job) -> dict[str, Any]:
    """Build, import, link and estimate one case; return its figures (no names)."""
    warnings.simplefilter("ignore")
    from undercount.ingest import import_list
    from undercount.link import link_case
    from undercount.link.model import LinkOptions
    from undercount.store import Case

    row: dict[str, Any] = {"seed": job.seed}
    cpu0 = _cpu()
    if job.reuse:
        return _estimate_seed(job, row, Path(job.reuse) / f"seed-{job.seed}", cpu0)
    population, tfp = _inputs(Path(job.data))
    with tempfile.TemporaryDirectory(dir=job.workdir) as tmp:
        built = build_case(population, tfp, job.seed, Path(tmp) / "lists", people=job.people,
                           schemes=dict(job.schemes))
        case = Case.init(Path(tmp) / "case")
        for name in LISTS:
            path, spec = built.files[name]
            import_list(case, path, name=name, spec=spec)
        t0 = time.perf_counter()
        linked = link_case(case, options=LinkOptions(skip_blocking=job.skip))
        row["link_seconds"] = time.perf_counter() - t0
        lists = [s for s in case.sources()["name"].tolist()]
        clusters = case.clusters()[["record_id", "source", "row", "person_id"]]
        truth = built.truth.rename(columns={"list": "source", "person_id": "truth"})
        records = clusters.merge(truth, on=["source", "row"]).rename(columns={"person_id": "person"})
        row.update(true_n=built.true_n, records=len(records), true_documented=int(records["truth"].nunique()),
                   linked_persons=int(records["person"].nunique()))
        row.update(linkage_quality(records, lists))
        pairs = true_pairs(records)
        row.update(_share_found(pairs, blocked_pairs(case, job.skip), lists, "block"))
        stored = case.pairs(case.current_run("link"))
        row.update(_share_found(pairs, stored, lists, "stored"))
        row.update(scheme_recall(records, pairs))
        row.update(missed_vs_truth(records, linked.missed, lists))
        if job.keep:
            kept = Path(job.keep) / f"seed-{job.seed}"
            shutil.copytree(Path(tmp) / "case", kept / "case", dirs_exist_ok=True)
            records[["record_id", "source", "row", "person", "truth"]].to_parquet(kept / "truth.parquet")
            (kept / "row.json").write_text(json.dumps({k: v for k, v in row.items() if k != "seed"}, default=float))
        if not job.estimate:
            row["cpu_seconds"] = _cpu() - cpu0
            return row
        _estimate_case(job, row, case, records, built.true_n)
    return _errors(row, built.true_n, cpu0)


def _estimate_seed(job: Job, row: dict[str, Any], kept: Path, cpu0: float) -> dict[str, Any]:
    """Estimate a copy of a case kept by ``--keep`` (its linkage figures as they were then)."""
    from undercount.store import Case

    row.update(json.loads((kept / "row.json").read_text()))
    with tempfile.TemporaryDirectory(dir=job.workdir) as tmp:
        shutil.copytree(kept / "case", Path(tmp) / "case")
        case = Case.open(Path(tmp) / "case")
        _estimate_case(job, row, case, pd.read_parquet(kept / "truth.parquet"), int(row["true_n"]))
    return _errors(row, int(row["true_n"]), cpu0)


def _errors(row: dict[str, Any], true_n: int, cpu0: float) -> dict[str, Any]:
    for key in ("estimate", "best_estimate", "oracle_estimate", "sample_estimate", "sample_best_estimate",
                "uncorrected_estimate"):
        if row.get(key) is not None:
            row[key.replace("estimate", "error")] = row[key] / true_n - 1
    row["cpu_seconds"] = _cpu() - cpu0
    return row


def widest_stratum(prefix: str, strata: dict[str, Any]) -> dict[str, Any]:
    """The stratum whose interval reaches furthest above its estimate (upper / estimate; no finite
    upper end counts as widest): its label, estimate, ends and method, as ``PREFIX_widest_*``."""
    def reach(res: Any) -> float:
        if res.estimate is None or not res.estimate:
            return -1.0
        return float("inf") if res.upper is None else float(res.upper) / float(res.estimate)

    if not strata:
        return {}
    name, res = max(strata.items(), key=lambda kv: reach(kv[1]))
    return {f"{prefix}_widest": name, f"{prefix}_widest_estimate": res.estimate, f"{prefix}_widest_lower": res.lower,
            f"{prefix}_widest_upper": res.upper, f"{prefix}_widest_reach": reach(res), f"{prefix}_widest_method": res.method}


def _default_estimate(job: Job, row: dict[str, Any], case: Any, true_n: int) -> None:
    """The default estimate (20 linkage draws, the model's correction) and its best linkage's figures."""
    from undercount.estimate.linkage import estimate_with_linkage

    t0 = time.perf_counter()
    result = estimate_with_linkage(case, link_draws=job.draws, seed=job.seed, store=False,
                                   imputations=job.imputations)
    row["estimate_seconds"] = time.perf_counter() - t0
    row.update(widest_stratum("default", result.strata))
    total = result.total
    info = total.details.get("linkage", {})
    row.update(documented=total.documented, estimate=total.estimate, lower=total.lower, upper=total.upper,
               covers=_covers(total, true_n), best_estimate=info.get("best_estimate"),
               best_lower=info.get("best_lower"), best_upper=info.get("best_upper"))
    row["best_covers"] = bool(row["best_estimate"] is not None and row["best_lower"] is not None
                              and row["best_lower"] <= true_n
                              and (row["best_upper"] is None or true_n <= row["best_upper"]))
    corr = total.details.get("correction", {})
    row.update(correction=corr.get("kind"), uncorrected_estimate=corr.get("uncorrected_estimate"),
               correction_share=corr.get("variance_share"))


def _estimate_case(job: Job, row: dict[str, Any], case: Any, records: pd.DataFrame, true_n: int) -> None:
    """The default estimate, the one corrected by a search sample answered from the truth, the true links'."""
    from undercount.estimate.case import estimate_case
    from undercount.estimate.linkage import estimate_with_linkage

    if job.default:
        _default_estimate(job, row, case, true_n)
    if job.sample:
        t0 = time.perf_counter()
        answered = answer_search_sample(case, records, job.sample, job.seed)
        result = estimate_with_linkage(case, link_draws=job.draws, seed=job.seed, store=False,
                                       imputations=job.imputations, correction="sample")
        sampled = result.total
        row.update(widest_stratum("sample", result.strata))
        info = sampled.details.get("correction", {})
        row.update(sample_answered=answered, sample_estimate=sampled.estimate, sample_lower=sampled.lower,
                   sample_upper=sampled.upper, sample_covers=_covers(sampled, true_n),
                   sample_found=info.get("with_found"), sample_split=info.get("with_split"),
                   sample_best_estimate=info.get("corrected_best_estimate"), sample_share=info.get("variance_share"),
                   sample_searches_for_10pct=info.get("searches_for_10pct"),
                   sample_seconds=time.perf_counter() - t0)
    if job.oracle:
        true_person = records.set_index("record_id")["truth"]
        oracle = estimate_case(case, assignments=[true_person], seed=job.seed, store=False,
                               imputations=job.imputations).total
        row.update(oracle_estimate=oracle.estimate, oracle_lower=oracle.lower, oracle_upper=oracle.upper,
                   oracle_covers=_covers(oracle, true_n))


# --------------------------------------------------------------------------------------------
# printing


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if pct:
        return f"{100 * value:+.1f}%"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}"
    return f"{value:,}" if isinstance(value, (int, np.integer)) else str(value)


def seed_table(rows: pd.DataFrame) -> str:
    """One line per seed: truth, documented, estimate, interval, error, covered (pooled, best, oracle)."""
    cols = ["seed", "true_n", "true_documented", "documented", "estimate", "lower", "upper", "error", "covers",
            "uncorrected_error", "best_error", "best_covers", "sample_estimate", "sample_lower", "sample_upper",
            "sample_error", "sample_covers", "sample_best_error", "sample_widest_reach", "oracle_error", "oracle_covers",
            "true missed", "calibrated missed",
            "link_seconds", "estimate_seconds"]
    out = rows.reindex(columns=cols).copy()
    for c in out.columns:
        out[c] = [_fmt(v, pct=c.endswith("error")) for v in out[c]]
    return out.to_string(index=False)


def pair_table(rows: pd.DataFrame, lists: list[str]) -> str:
    """Per list pair, mean over seeds: recall, precision, blocking and stored recall, true pairs, and
    missed pairs: true and as the model expects them (link.missed)."""
    lines = []
    for _, _, label in pair_names(lists):
        vals = {k: rows.get(f"{k} {label}") for k in ("recall", "precision", "block", "stored", "true pairs",
                                                       "true missed", "model missed", "calibrated missed",
                                                       "missed low", "missed high")}
        lines.append({"list pair": label, **{k: (float(np.nanmean(v.astype(float))) if v is not None else None)
                                              for k, v in vals.items()}})
    frame = pd.DataFrame(lines)
    for c in frame.columns[1:]:
        frame[c] = [_fmt(v) for v in frame[c]]
    return frame.to_string(index=False)


def summary(rows: pd.DataFrame) -> str:
    """Counts of seeds within 5% / 2% and covered, for the pooled, best and oracle estimates."""
    out = []
    n = len(rows)
    for label, err, cov in (("pooled (default)", "error", "covers"), ("best linkage", "best_error", "best_covers"),
                            ("with search sample", "sample_error", "sample_covers"),
                            ("true links (oracle)", "oracle_error", "oracle_covers")):
        if err not in rows:
            continue
        e = rows[err].astype(float)
        out.append(f"{label:>20}: median error {100 * e.median():+.1f}% (range {100 * e.min():+.1f}% to "
                   f"{100 * e.max():+.1f}%), within 5% on {int((e.abs() <= 0.05).sum())}/{n}, within 2% on "
                   f"{int((e.abs() <= 0.02).sum())}/{n}, covers on {int(rows[cov].astype(bool).sum())}/{n}")
    if "calibrated missed" in rows and "true missed" in rows:
        ratio = rows["calibrated missed"].astype(float) / rows["true missed"].astype(float).clip(lower=1)
        out.append(f"{'missed pairs':>20}: calibrated / true median {ratio.median():.2f} (range {ratio.min():.2f} to "
                   f"{ratio.max():.2f}), within 30% on {int(((ratio - 1).abs() <= 0.3).sum())}/{n} (all pairs of lists)")
    return "\n".join(out)


def _print_true_tables(population: pd.DataFrame, seeds: range, people: int | None, variant: str) -> int:
    """Print the estimator's error on each seed's true tables, and a summary."""
    rows = []
    for seed in seeds:
        rows.append(true_table_row(population, seed, people, variant))
        r = rows[-1]
        print(f"{variant} seed {seed}: documented {r['documented']:,}; " + "; ".join(
            f"{k.removesuffix(' error')} {_fmt(r[k], pct=True)}" for k in r if k.endswith(" error"))
            + "".join(f"; {k}: {'yes' if r[k] else 'NO'}" for k in r if k.endswith(" covers"))
            + f"; negative pairs pooled: {r['negative pairs']}"
            + f"; BIC picks [12] in {r['BIC models with [12]']} of the strata", flush=True)
    frame = pd.DataFrame(rows)
    for column in [c for c in frame.columns if c.endswith(" error")]:
        err = frame[column].astype(float)
        print(f"{column.removesuffix(' error'):>14}: median {100 * err.median():+.1f}%, within 5% on "
              f"{int((err.abs() <= 0.05).sum())}/{len(err)}, within 2% on {int((err.abs() <= 0.02).sum())}/{len(err)}")
    for column in [c for c in frame.columns if c.endswith(" covers")]:
        print(f"{column:>14}: {int(frame[column].sum())}/{len(frame)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10, help="cases (seeds 1..N)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="3 seeds of 8,000 people (unless given)")
    parser.add_argument("--people", type=int, default=None, help="population size (default: all 34,344)")
    parser.add_argument("--draws", type=int, default=None, help="linkage draws (default: the estimate default, 20)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--skip-rule", action="append", default=[], help="a default blocking rule to leave out")
    parser.add_argument("--no-oracle", action="store_true", help="skip the estimate from the true links")
    parser.add_argument("--no-default", action="store_true",
                        help="skip the default estimate: only the search sample's (and the oracle's), e.g. at full size")
    parser.add_argument("--no-estimate", action="store_true",
                        help="link only: linkage and missed-pair figures, no estimate (a fifth of the CPU)")
    parser.add_argument("--sample", type=int, default=300,
                        help="persons in the simulated search sample answered from the truth (0: none)")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--keep", default=None, metavar="DIR",
                        help="keep each seed's linked case and its truth (record ids only) in DIR/seed-N")
    parser.add_argument("--reuse", default=None, metavar="DIR",
                        help="estimate copies of the cases an earlier --keep left in DIR (no build, import or link)")
    parser.add_argument("--out", default="bench/out/end_to_end.csv")
    parser.add_argument("--summarise", default=None, help="only print the tables of an earlier run's CSV")
    parser.add_argument("--true-tables", choices=VARIANTS, default=None,
                        help="only the estimator on each seed's TRUE capture tables (no lists, no linkage), "
                             "under the bench's capture model or one without its dependence or latent class")
    opts = parser.parse_args()
    from undercount.estimate.linkage import DEFAULT_LINK_DRAWS

    if opts.summarise:
        rows = pd.read_csv(opts.summarise)
        print(seed_table(rows), pair_table(rows, list(LISTS)), summary(rows), sep="\n\n")
        return 0
    data = Path(opts.data)
    if not (data / POPULATION_FILE).is_file() or not (data / TFP_FILE).is_file():
        print(f"the real lists are not in {data} (../shared/data): nothing to measure", file=sys.stderr)
        return 1
    seeds = opts.seeds if not opts.quick or "--seeds" in sys.argv else 3
    people = opts.people if opts.people is not None else (8000 if opts.quick else None)
    if opts.true_tables:
        return _print_true_tables(load_population(data), range(opts.first_seed, opts.first_seed + seeds), people,
                                  opts.true_tables)
    draws = DEFAULT_LINK_DRAWS if opts.draws is None else opts.draws
    jobs = [Job(seed=s, people=people, draws=draws, skip=tuple(opts.skip_rule), data=str(data),
                workdir=opts.workdir, schemes=tuple(SCHEMES.items()), oracle=not opts.no_oracle,
                sample=opts.sample, estimate=not opts.no_estimate, keep=opts.keep, reuse=opts.reuse,
                default=not opts.no_default)
            for s in range(opts.first_seed, opts.first_seed + seeds)]
    print(f"end to end: {seeds} seeds, population {people or 'all'}, {draws} linkage draws, "
          f"skipped blocking rules: {opts.skip_rule or 'none'}, {opts.workers} worker(s), "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    runner: Callable[..., Any]
    with ProcessPoolExecutor(max_workers=opts.workers) as pool:
        runner = pool.map if opts.workers > 1 else map
        for row in runner(run_seed, jobs):
            rows.append(row)
            pd.DataFrame(rows).to_csv(opts.out, index=False)
            lines = seed_table(pd.DataFrame([row])).splitlines()
            print("\n".join(lines if len(rows) == 1 else lines[1:]), flush=True)
    frame = pd.DataFrame(rows)
    print()
    print(seed_table(frame), pair_table(frame, list(LISTS)), summary(frame), sep="\n\n")
    schemes = [c for c in frame.columns if c.startswith("recall obituaries x other")]
    print("\n" + "\n".join(f"{c}: {frame[c].astype(float).mean():.3f}" for c in schemes))
    print(f"\n{len(rows)} seeds in {time.perf_counter() - start:.0f} s (CPU {sum(r['cpu_seconds'] for r in rows):.0f} s"
          f" in the workers), load average {os.getloadavg()[0]:.1f}; rows in {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
