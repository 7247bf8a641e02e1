"""Benchmark: import 1,000,000 generated rows (Arabic names) into a temporary case.

Usage: .venv/bin/python bench/ingest_bench.py [--rows N] [--keep DIR]

Prints the wall time of the import and the peak resident memory of the process
(resource.getrusage). Targets: under 60 s and under 4 GB for 1,000,000 rows.
The rows are generated here (no simulator, no shared data): four-part Arabic names drawn from
small built-in token lists, Luhn-valid 9-digit IDs (a few damaged), ages, sexes, dates of birth,
dates of death and places, written as UTF-8 CSV with a title row above the header.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

GIVEN_MALE = ["محمد", "أحمد", "محمود", "عبد الله", "عبد الرحمن", "يوسف", "خالد", "إبراهيم", "علي", "حسن",
              "عمر", "مصطفى", "سامي", "رامي", "إياد", "نضال", "وليد", "ياسر", "سعيد", "كريم"]
GIVEN_FEMALE = ["فاطمة", "مريم", "نور", "آية", "سارة", "هدى", "أسماء", "رنا", "دعاء", "ياسمين", "ريم",
                "سلمى", "لينا", "منى", "هبة", "إسراء", "آمنة", "خديجة", "زينب", "رهف"]
FAMILY = ["أبو حطب", "الشاعر", "المدهون", "السلطان", "شاهين", "الدلو", "حمدان", "عياد", "أبو عيشة",
          "النجار", "الأسطل", "البطش", "أبو شمالة", "الكحلوت", "حلس", "الفرا", "أبو ندى", "قديح", "الهمص",
          "زعرب", "أبو طه", "بارود", "الغول", "عاشور", "أبو جزر", "الحلو", "العطار", "المصري", "صيام", "عودة"]
PLACES = ["غزة", "خان يونس", "رفح", "دير البلح", "شمال غزة"]


def luhn_digit(body: np.ndarray) -> np.ndarray:
    """Check digits for 8-digit bodies (weights 1,2,1,2,... from the left)."""
    digits = np.stack([(body // 10 ** (7 - i)) % 10 for i in range(8)], axis=1)
    prod = digits * np.array([1, 2, 1, 2, 1, 2, 1, 2])
    total = (prod // 10 + prod % 10).sum(axis=1)
    return (10 - total % 10) % 10


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Write ``rows`` generated records as a CSV with a title row above the header."""
    rng = np.random.default_rng(seed)
    male = rng.random(rows) < 0.6
    given_m = np.array(GIVEN_MALE, dtype=object)
    given_f = np.array(GIVEN_FEMALE, dtype=object)
    given = np.where(male, given_m[rng.integers(0, 20, rows)], given_f[rng.integers(0, 20, rows)])
    father = given_m[rng.integers(0, 20, rows)]
    grand = given_m[rng.integers(0, 20, rows)]
    family = np.array(FAMILY, dtype=object)[rng.integers(0, len(FAMILY), rows)]
    names = pd.Series(given) + " " + pd.Series(father) + " " + pd.Series(grand) + " " + pd.Series(family)
    body = rng.integers(10_000_000, 99_999_999, rows)
    ids = body * 10 + luhn_digit(body)
    damaged = rng.random(rows) < 0.01
    ids = np.where(damaged, ids + 1, ids)
    age = rng.integers(0, 90, rows)
    death = pd.Timestamp("2023-10-07") + pd.to_timedelta(rng.integers(0, 600, rows), unit="D")
    dob = death - pd.to_timedelta(age * 365 + rng.integers(0, 365, rows), unit="D")
    frame = pd.DataFrame({
        "الاسم الرباعي": names,
        "رقم الهوية": pd.Series(ids).astype(str).str.zfill(9),
        "العمر": age,
        "الجنس": np.where(male, "ذكر", "أنثى"),
        "تاريخ الميلاد": dob.strftime("%Y-%m-%d"),
        "تاريخ الوفاة": death.strftime("%d/%m/%Y"),
        "المحافظة": np.array(PLACES, dtype=object)[rng.integers(0, len(PLACES), rows)],
    })
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("كشف بأسماء الشهداء (بيانات مولدة للاختبار)\n")
        frame.to_csv(out, index=False)


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="keep the case in this folder")
    args = parser.parse_args(argv)

    from undercount.ingest import import_list
    from undercount.store import Case

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "bench_list.csv"
        t0 = time.perf_counter()
        generate(src, args.rows)
        gen_s = time.perf_counter() - t0
        before = peak_rss_mb()
        case = Case.init(args.keep or Path(tmp) / "case")
        t1 = time.perf_counter()
        cpu0 = _cpu_seconds()
        result = import_list(case, src)
        wall = time.perf_counter() - t1
        cpu = _cpu_seconds() - cpu0
        peak = peak_rss_mb()
        print(f"generated {args.rows:,} rows ({src.stat().st_size / 1e6:.0f} MB) in {gen_s:.1f} s "
              f"(peak RSS before import {before:,.0f} MB)")
        print(f"imported {result.rows:,} rows in {wall:.1f} s wall ({cpu:.1f} s CPU, load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores); peak RSS {peak:,.0f} MB")
        print(f"flags: {result.flags}")
        ok = wall < 60 and peak < 4096
        print("targets (< 60 s, < 4096 MB):", "met" if ok else "MISSED")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
