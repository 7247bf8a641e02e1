"""Benchmark: parse_names on generated full names (default 1,000,000 rows).

Names are drawn from the shipped name-frequency tables (four or five parts, compounds written
split or joined, some with diacritics or an honorific, a share written in English with
``transliterate``), so tokens repeat as in real lists while full names are mostly distinct.

Usage:
    python bench/names_bench.py [ROWS]

Prints the rows, distinct names, wall and CPU time of parse_names and rows per second (on a
busy machine the CPU time is the fairer figure).
"""

from __future__ import annotations

import sys
import time
from importlib import resources

import numpy as np
import pandas as pd

from undercount.names import parse_names, transliterate


def _table(name: str) -> tuple[np.ndarray, np.ndarray]:
    ref = resources.files("undercount.names") / "data" / name
    with ref.open(encoding="utf-8") as handle:
        frame = pd.read_csv(handle)
    p = frame["count"].to_numpy(dtype=float)
    return frame["token"].to_numpy(dtype=object), p / p.sum()


def generate(rows: int, seed: int = 0) -> pd.Series:
    """Full names for the benchmark (Arabic, some English)."""
    rng = np.random.default_rng(seed)
    male, p_male = _table("names_given_male.csv")
    female, p_female = _table("names_given_female.csv")
    family, p_family = _table("names_family.csv")
    is_female = rng.random(rows) < 0.4
    given = np.where(is_female, rng.choice(female, rows, p=p_female),
                     rng.choice(male, rows, p=p_male))
    father = rng.choice(male, rows, p=p_male)
    grandfather = rng.choice(male, rows, p=p_male)
    fam = rng.choice(family, rows, p=p_family)
    five = rng.random(rows) < 0.3
    extra = rng.choice(male, rows, p=p_male)
    english = rng.random(rows) < 0.15
    names = []
    for i in range(rows):
        parts = [given[i], father[i], grandfather[i]] + ([extra[i]] if five[i] else []) + [fam[i]]
        if english[i]:
            names.append(" ".join(transliterate(t, rng) for t in parts))
        else:
            text = " ".join(parts)
            if i % 50 == 0:
                text = "الشهيد " + text.replace("ا", "أ", 1)
            names.append(text)
    return pd.Series(names, dtype=object)


def main(argv: list[str]) -> int:
    rows = int(argv[1]) if len(argv) > 1 else 1_000_000
    names = generate(rows)
    start, cpu = time.perf_counter(), time.process_time()
    parsed = parse_names(names)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"rows {rows:,}; distinct names {names.nunique():,}; "
          f"parse_names wall {wall:.1f} s, cpu {cpu:.1f} s; {rows / wall:,.0f} rows/s; "
          f"null keys {int(parsed['name_key'].isna().sum())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
