"""Transliteration keys on the shared real data (skipped without ../shared; asserts rates only)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from undercount.names import english_spellings, key_agreement, normalise_name


def _dictionary(shared_dir: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_dir / "data" / "tfp_dict_ar_en.csv", header=None,
                        names=["ar", "en"], dtype=str, keep_default_na=False)
    frame = frame[(frame["ar"] != "ar") & (frame["ar"].str.strip("-, ") != "")]
    return frame[frame["en"].str.strip("-, ") != ""]


def test_keys_agree_on_the_name_segment_dictionary(shared_dir: Path) -> None:
    words = _dictionary(shared_dir)
    result = key_agreement(words["ar"], words["en"])
    assert result.pairs > 6000
    assert result.full_agreement > 0.97  # measured 0.9786


def test_keys_agree_on_the_machine_transliterated_list(shared_dir: Path) -> None:
    killed = pd.read_csv(shared_dir / "data" / "tfp_killed_in_gaza_20240921.csv", dtype=str)
    result = key_agreement(killed["name"], killed["en_name"])
    assert result.pairs > 28000
    assert result.token_agreement > 0.99  # measured 0.9948
    assert result.first3_agreement > 0.965  # measured 0.9735


def test_shipped_table_covers_the_dictionary(shared_dir: Path) -> None:
    words = _dictionary(shared_dir).sample(300, random_state=0)
    covered = sum(bool(english_spellings(ar)) for ar in words["ar"] if normalise_name(ar))
    assert covered / len(words) > 0.95
