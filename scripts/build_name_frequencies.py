"""Build the aggregated name-frequency tables shipped in src/undercount/names/data/.

Reads two public-domain releases of the Gaza Ministry of Health list (see
/work/shared/data/README.md and its licence file) and writes three tables of
``token,count``: given names of males (plus every father's and grandfather's given
name, which are male names), given names of females, and family names. Only
aggregated counts leave this script; tokens seen fewer than three times are dropped,
so that no rare name points to a person.

Usage:
    python scripts/build_name_frequencies.py [SHARED_DATA_DIR] [OUT_DIR]
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from pathlib import Path

MIN_COUNT = 3
PREFIXES = {"عبد", "ابو", "أبو", "ابن", "بن", "ال", "آل", "ام", "أم", "بو"}
SUFFIXES = {"الدين", "الله", "الاسلام", "الإسلام"}
ARABIC_TOKEN = re.compile(r"^[\u0621-\u064A ]+$")
MEDIAL_DOTLESS_YA = re.compile(r"ى(?=[\u0621-\u064A])")


def _clean_raw(name: str) -> str:
    """Repair the PDF-extraction damage of the ministry file (dotless ya inside words)."""
    return MEDIAL_DOTLESS_YA.sub("ي", name)


def _split_compound(token: str) -> str:
    """Write joined compounds (عبدالرحمن, ابوشمالة, عزالدين) split, as the lists mostly do."""
    if " " in token:
        return token
    for prefix in ("عبد", "ابو", "أبو"):
        if token.startswith(prefix) and len(token) > len(prefix) + 2:
            rest = token[len(prefix):]
            if prefix == "عبد" and not rest.startswith("ال"):
                continue
            return f"{prefix} {rest}"
    for suffix in ("الدين", "الله"):
        if token.endswith(suffix) and len(token) > len(suffix) + 1:
            return f"{token[: -len(suffix)]} {suffix}"
    return token


def name_parts(name: str) -> list[str]:
    """Split a full Arabic name into parts, keeping compounds together."""
    tokens = [t for t in name.split() if t]
    parts: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in PREFIXES and i + 1 < len(tokens):
            tok = f"{tok} {tokens[i + 1]}"
            i += 1
        elif tok in SUFFIXES and parts and " " not in parts[-1]:
            parts[-1] = f"{parts[-1]} {tok}"
            i += 1
            continue
        parts.append(_split_compound(tok))
        i += 1
    return parts


def _fix_lam_alef(token: str, vocabulary: set[str]) -> str:
    """Undo the lam-alef artefact (هللا for الله, عالء for علاء) using a clean vocabulary."""
    token = token.replace("هللا", "الله")
    if token in vocabulary:
        return token
    for match in re.finditer("ال", token):
        if match.start() == 0:
            continue
        candidate = token[: match.start()] + "لا" + token[match.end():]
        if candidate in vocabulary:
            return candidate
    return token


def _read(path: Path, name_col: str, sex_col: str) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row[name_col] or "", (row[sex_col] or "").strip().lower()) for row in csv.DictReader(handle)]


def count_names(rows: list[tuple[str, str]], counters: dict[str, Counter[str]], fix: set[str] | None) -> None:
    """Add the name parts of ``rows`` (name, sex) to the three counters."""
    for name, sex in rows:
        parts = name_parts(name)
        if fix is not None:
            parts = [" ".join(_fix_lam_alef(t, fix) for t in p.split(" ")) for p in parts]
        if len(parts) < 4 or not all(ARABIC_TOKEN.match(p) for p in parts):
            continue
        given_key = "male" if sex.startswith("m") else "female" if sex.startswith("f") else ""
        if given_key:
            counters[given_key][parts[0]] += 1
        for part in parts[1:-1]:
            counters["male"][part] += 1
        counters["family"][parts[-1]] += 1


def build(shared: Path, out: Path) -> dict[str, int]:
    """Build the three tables; return the number of tokens kept in each."""
    counters: dict[str, Counter[str]] = {"male": Counter(), "female": Counter(), "family": Counter()}
    raw = [(_clean_raw(n), s) for n, s in _read(shared / "gaza_moh_20240831_raw.csv", "name_ar_raw", "sex")]
    count_names(raw, counters, None)
    vocabulary = {tok for name, _ in raw for tok in name.split()}
    count_names(_read(shared / "tfp_killed_in_gaza_20240921.csv", "name", "sex"), counters, vocabulary)
    out.mkdir(parents=True, exist_ok=True)
    kept: dict[str, int] = {}
    for key, file in (("male", "names_given_male.csv"), ("female", "names_given_female.csv"),
                      ("family", "names_family.csv")):
        rows = sorted(((t, c) for t, c in counters[key].items() if c >= MIN_COUNT and len(t) >= 2),
                      key=lambda tc: (-tc[1], tc[0]))
        with (out / file).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["token", "count"])
            writer.writerows(rows)
        kept[file] = len(rows)
    return kept


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared" / "data"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else root / "src" / "undercount" / "names" / "data"
    for file, n in build(shared, out).items():
        print(f"{file}: {n} tokens")


if __name__ == "__main__":
    main()
