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
    heavy = sorted({m.split(".")[0] for m in loaded} & {"pandas", "numpy", "pyarrow", "splink", "numba", "pydantic", "rich"})
    assert heavy == [], f"status imports {heavy}"  # pydantic: typer's adapters (undercount.cli.coercion); rich: cli.app's consoles


def test_plain_values_keep_typer_types_checks_and_messages(tmp_path: Path) -> None:
    # undercount.cli.coercion answers plain values itself and hands the rest to typer's adapters:
    # the types, typer's path checks and its error messages must be those typer gives.
    import typer
    from typer.testing import CliRunner

    import undercount.cli  # noqa: F401  (installs the plain coercion)

    seen: dict[str, object] = {}
    demo = typer.Typer()

    @demo.command()
    def run(where: Path = typer.Argument(..., exists=True, file_okay=False),
            name: str = typer.Option("x", "--name"), limit: int = typer.Option(3, "--limit", min=0),
            share: float = typer.Option(0.5, "--share"), loud: bool = typer.Option(False, "--loud")) -> None:
        seen.update(where=where, name=name, limit=limit, share=share, loud=loud)

    runner = CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1"})
    ok = runner.invoke(demo, [str(tmp_path), "--name", "ab", "--limit", "7", "--share", "2", "--loud"])
    assert ok.exit_code == 0, ok.output
    assert seen == {"where": tmp_path, "name": "ab", "limit": 7, "share": 2.0, "loud": True}
    assert type(seen["where"]) is type(tmp_path) and type(seen["share"]) is float and type(seen["limit"]) is int
    missing = runner.invoke(demo, [str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    afile = tmp_path / "a.txt"
    afile.write_text("x", encoding="utf-8")
    assert "is a file" in runner.invoke(demo, [str(afile)]).output
    low = runner.invoke(demo, [str(tmp_path), "--limit", "-1"])
    assert low.exit_code == 2 and "greater than or equal to 0" in low.output
    bad = runner.invoke(demo, [str(tmp_path), "--limit", "many"])
    assert bad.exit_code == 2 and "valid integer" in bad.output


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
