"""Measure transliteration-key agreement on the shared real data (prints rates only, never names).

Two measures:
* the name-segment dictionary tfp_dict_ar_en.csv: share of (Arabic segment, English spelling)
  entries whose keys are equal;
* tfp_killed_in_gaza_20240921.csv, columns name (Arabic) and en_name (machine English):
  per-token agreement among rows with as many tokens on both sides, agreement of the first three
  tokens, agreement of whole names.

Usage:
    python scripts/measure_name_keys.py [SHARED_DATA_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from undercount.names import key_agreement

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data"


def read_dictionary(folder: Path) -> pd.DataFrame:
    """The ar/en dictionary without its stray header rows."""
    frame = pd.read_csv(folder / "tfp_dict_ar_en.csv", header=None, names=["ar", "en"],
                        dtype=str, keep_default_na=False)
    frame = frame[(frame["ar"] != "ar") & (frame["ar"].str.strip("-, ") != "")]
    return frame[frame["en"].str.strip("-, ") != ""]


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else DEFAULT
    if not (folder / "tfp_dict_ar_en.csv").is_file():
        print(f"{folder} holds no shared data: nothing measured")
        return 0
    words = read_dictionary(folder)
    d = key_agreement(words["ar"], words["en"])
    print(f"dictionary: {d.pairs} entries, key agreement {d.full_agreement:.4f}")
    killed = pd.read_csv(folder / "tfp_killed_in_gaza_20240921.csv", dtype=str)
    k = key_agreement(killed["name"], killed["en_name"])
    print(f"killed list: {k.pairs} names; same token count {k.same_token_count:.4f}; "
          f"token agreement {k.token_agreement:.4f}; first 3 tokens {k.first3_agreement:.4f}; "
          f"whole name {k.full_agreement:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
