"""The fuzz corpus, part "workbooks" (xlsx, wide, huge_field, leaks): see corpus_check.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from .corpus_check import check_part


@pytest.mark.slow
def test_hostile_workbooks_never_crash_hang_leak_or_change_the_case(tmp_path: Path) -> None:
    check_part("workbooks", tmp_path)
