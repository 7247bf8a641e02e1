"""Build src/undercount/names/data/translit_ar_en.csv, the Arabic-to-English name-segment table.

Source: tfp_dict_ar_en.csv of TechForPalestine/palestine-datasets (public domain; see
../shared/data/README.md and LICENSE.tfp-palestine-datasets.txt). It is a dictionary of name
segments, not a list of people. Each Arabic segment is normalised with
undercount.names.normalise_name (compounds joined), each English spelling is lower-cased
and cleaned, and the table keeps one row per (ar, en) with the number of dictionary entries that
gave it. Rows whose English is not a plain spelling (notes, empty) are dropped.

Usage:
    python scripts/build_name_tables.py [SHARED_DATA_DIR] [OUT_FILE]

Without the shared folder it says so and exits 0 (the shipped table stays as committed).
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from undercount.names import detect_script, normalise_name  # noqa: E402

DEFAULT_SHARED = ROOT.parent / "shared" / "data"
DEFAULT_OUT = ROOT / "src" / "undercount" / "names" / "data" / "translit_ar_en.csv"
SPELLING = re.compile(r"^[a-z]+(?:[ '-][a-z]+){0,3}$")
NOTES = ("variant", "spelling", "upon him", "unknown")


def read_pairs(path: Path) -> Counter[tuple[str, str]]:
    """Normalised (ar, en) pairs of the dictionary with their number of entries."""
    counts: Counter[tuple[str, str]] = Counter()
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            if len(row) < 2 or row[0].strip() in ("", "-", "ar"):
                continue
            ar = "".join(normalise_name(row[0].strip("() ")).split())
            en = " ".join(row[1].strip("() ").lower().replace("_", " ").split())
            if not ar or detect_script(ar) != "arabic" or not SPELLING.match(en):
                continue
            if any(note in en for note in NOTES):
                continue
            counts[(ar, en)] += 1
    return counts


def main(argv: list[str]) -> int:
    shared = Path(argv[1]) if len(argv) > 1 else DEFAULT_SHARED
    out = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUT
    source = shared / "tfp_dict_ar_en.csv"
    if not source.is_file():
        print(f"{source} not found: the shipped table is left as it is")
        return 0
    counts = read_pairs(source)
    rows = sorted(counts.items(), key=lambda item: (item[0][0], -item[1], item[0][1]))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["ar", "en", "count"])
        for (ar, en), count in rows:
            writer.writerow([ar, en, count])
    print(f"wrote {len(rows)} rows ({len({ar for (ar, _), _ in rows})} Arabic segments) to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
