"""The fuzz corpus, part "documents" (json, parquet, encodings): see corpus_check.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from .corpus_check import check_part


@pytest.mark.slow
def test_hostile_documents_never_crash_hang_leak_or_change_the_case(tmp_path: Path) -> None:
    check_part("documents", tmp_path)
