"""Imported once by the fuzz runner's fork server (runner.PRELOAD): everything an import loads on
its first call, so that each forked run pays for its own input only.

Without it every run re-did, in its own process, what the first import of a process does: load
the modules the command imports when it runs, build the name tables (the Latin name-token set,
the transliteration dictionary: about half a processor second) and compile their patterns. The
warm-up reads, maps and builds the records of two small lists (Latin and Arabic) in memory; it
opens no case, so the server holds no DuckDB database when it forks.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from typer.testing import CliRunner

import undercount.ingest.report
import undercount.store.releases
from undercount.cli import app
from undercount.ingest.columns import map_columns, score_headers
from undercount.ingest.read import read_table
from undercount.ingest.records import build_records

#: What `undercount import` imports only when it runs.
LOADED = (undercount.ingest.report, undercount.store.releases)

#: Two lists in the shape of the corpus's (no canary: nothing here is printed).
LISTS = {
    "latin.csv": "name,age,sex,id_number,date_of_death,place\nAhmad Omar Saleh,34,male,,2023-10-20,Gaza\n"
                 "Mona Ali Hassan,7,female,,2023-10-21,Rafah\n",
    "arabic.csv": "name,age,sex,id_number,date_of_death,place\nمحمد أحمد علي,61,ذكر,,2023-11-02,رفح\n"
                  "فاطمة عمر حسن,5,أنثى,,2023-11-03,غزة\n",
}


def warm() -> None:
    """Ask the command line for its help (typer's runner loads its adapters and pydantic), then read
    and build the records of :data:`LISTS` (in memory, no case)."""
    CliRunner().invoke(app, ["import", "--help"])
    with tempfile.TemporaryDirectory(prefix="fuzz-warm-") as tmp:
        for name, text in LISTS.items():
            path = Path(tmp) / name
            path.write_text(text, encoding="utf-8")
            table = read_table(path, data=path.read_bytes(), score=lambda cells: score_headers(cells, []))
            columns = map_columns(table.headers, None, path.name).prefer_arabic_name(table.frame)
            build_records(table, columns, None, path.name)


warm()
