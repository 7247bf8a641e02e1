"""The command line starts at once: heavy libraries load only in the commands that need them.

``undercount --help`` must answer in well under half a second (issue 21; timed by
bench/cli_start.py, not here). What makes it slow is importing the libraries of the stages at
start-up, so this test checks what a fresh interpreter has imported after ``import
undercount.cli`` and after ``undercount --help``: a command module that imports the store, an
estimator, Splink or the web app at its top fails here. Import them inside the command function
(and open cases with ``undercount.cli.app.open_case``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
HEAVY = ("splink", "matplotlib", "fastapi", "uvicorn", "numba", "scipy", "pandas", "duckdb", "pyarrow",
         "jinja2", "statsmodels")

SCRIPTS = {
    "import": "import undercount.cli",
    "--help": ("from undercount.cli import main\nsys.argv = ['undercount', '--help']\n"
               "try:\n    main()\nexcept SystemExit:\n    pass"),
}


def _loaded(body: str) -> list[str]:
    code = f"import sys, json\n{body}\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    modules: list[str] = json.loads(out.strip().splitlines()[-1])
    return modules


@pytest.mark.parametrize("what", SCRIPTS)
def test_start_imports_no_heavy_library(what: str) -> None:
    loaded = _loaded(SCRIPTS[what])
    heavy = sorted({m.split(".")[0] for m in loaded} & set(HEAVY))
    assert heavy == [], f"{what} imports {heavy}: import them inside the commands that need them"


def test_the_check_sees_a_heavy_import() -> None:
    loaded = _loaded("import undercount.cli\nimport undercount.store\nimport undercount.review.browse")
    assert {"duckdb", "pandas"} <= {m.split(".")[0] for m in loaded}


def test_status_reads_a_linked_case_without_pandas(tmp_path: Path) -> None:
    # `undercount status` answers in under half a second (issue 21; bench/cli_start.py times it):
    # pandas alone takes half a second to import, so the status, the store's run queries and the
    # review queue's counts read plain rows. The fixture is linked, decided and estimated.
    import tarfile

    from undercount.store import Case

    with tarfile.open(SRC.parent / "tests" / "store" / "fixtures" / "case_v1.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    Case.open(tmp_path / "case")  # brings the old fixture to today's schema first
    script = (f"from undercount.cli import main\nsys.argv = ['undercount', 'status', {str(tmp_path / 'case')!r}, '--json']\n"
              "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code")
    loaded = _loaded(script)
    assert "undercount.review.status" in loaded and "undercount.review.queue" in loaded
    heavy = sorted({m.split(".")[0] for m in loaded} & {"pandas", "numpy", "pyarrow", "splink", "numba"})
    assert heavy == [], f"status imports {heavy}"


def test_lazy_package_names_still_resolve() -> None:
    import undercount
    from undercount import estimate
    from undercount.store import Case

    assert undercount.Case is Case
    assert estimate.estimate_case.__module__ == "undercount.estimate.case"
    with pytest.raises(AttributeError):
        undercount.NoSuchName  # noqa: B018
    with pytest.raises(AttributeError):
        estimate.no_such_name  # noqa: B018
