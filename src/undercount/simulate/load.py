"""Import a simulated case's lists into a case, each with the spec the simulator wrote for it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from undercount.errors import InputError
from undercount.store import Case

__all__ = ["import_simulation"]


def import_simulation(case: Case, out_dir: str | Path) -> list[Any]:
    """Import every list named in ``out_dir/manifest.json``, in the manifest's order.

    Args:
        case: an open case.
        out_dir: a folder written by :func:`undercount.simulate.simulate`.

    Returns:
        The ImportResult of each list.

    Raises:
        InputError: no manifest, or a list file it names is missing or fails to import.
    """
    from undercount.ingest import import_list

    folder = Path(out_dir)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise InputError("no manifest.json: not a folder written by 'undercount simulate'", file=manifest_path)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    results = []
    for item in manifest["lists"]:
        spec = folder / item["spec"] if item.get("spec") else None
        results.append(import_list(case, folder / item["file"], name=item["name"], spec=spec))
    return results
