"""The fuzz corpus's parts: every category in exactly one part, each part with its own test file."""

from __future__ import annotations

import ast
from pathlib import Path

from .corpus_check import AT_LEAST, PARTS
from .make_corpus import GENERATORS

HERE = Path(__file__).parent


def test_the_parts_cover_every_category_once() -> None:
    listed = [c for categories in PARTS.values() for c in categories]
    assert sorted(listed) == sorted(GENERATORS) and len(listed) == len(set(listed))
    assert all(PARTS.values())
    assert sum(AT_LEAST.values()) >= 365  # the corpus never shrinks below what session 3 wrote


def test_each_part_has_a_slow_test_file_that_runs_it() -> None:
    for part in PARTS:
        path = HERE / f"test_corpus_{part}.py"
        assert path.is_file(), path
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tests = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
        assert len(tests) == 1, path
        assert "pytest.mark.slow" in ast.unparse(tests[0].decorator_list[0]), path
        assert f'check_part("{part}", tmp_path)' in ast.unparse(tests[0]).replace("'", '"'), path
    stray = {p.stem.removeprefix("test_corpus_") for p in HERE.glob("test_corpus_*.py")} - set(PARTS) - {"parts"}
    assert not stray, f"test files for parts that do not exist: {stray}"
