"""Releases of one list: which sources are releases of which list, in what order, which one counts.

Publishers put their lists out again and again. Each file imported is a *source* (its
``uc_sources`` name, the ``source`` of its records); ``undercount import ... --release-of LIST
--released DATE`` records it in ``uc_releases`` as a release of ``LIST``. A list keeps its
releases in the order of their dates (a release without a date, only possible for the first
import of a list, is the oldest; equal dates are refused at import). A source without a row in
``uc_releases`` is a list of one release, named like the source.

Linkage and estimation use one release per list: the newest, unless told otherwise
(:func:`choose_releases`), and never two releases of one list as two lists.

Example:
    >>> parse_release_choices(["moh=moh@2024-08-31"])
    {'moh': 'moh@2024-08-31'}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from undercount.errors import ConfigError
from undercount.store.runs import Reader

__all__ = [
    "ReleaseChoice",
    "ReleaseInfo",
    "choose_releases",
    "current_sources",
    "default_release_name",
    "list_releases",
    "parse_release_choices",
    "release_table",
]

_RELEASES_SQL = """
WITH newest AS (
    SELECT * EXCLUDE (rn) FROM (
        SELECT *, row_number() OVER (PARTITION BY source ORDER BY written_at DESC, run_id DESC) AS rn
        FROM uc_releases) WHERE rn = 1
)
SELECT s.name AS source, coalesce(n.list_name, s.name) AS list_name, n.released, n.top_line,
       n.top_line_identified, s.row_count AS rows, s.file_name, s.file_hash, s.imported_at
FROM uc_sources s LEFT JOIN newest n ON n.source = s.name
"""


@dataclass(frozen=True)
class ReleaseInfo:
    """One release of a list.

    Attributes:
        source: the release's name in the case (its records' ``source``).
        list_name: the list it is a release of.
        released: its publication date (None: unknown; it is then the list's oldest).
        position: 1 for the oldest release of the list.
        releases: how many releases the list has.
        rows: records imported from it.
        top_line: the total the publisher announced with it (None: none entered).
        top_line_identified: of that total, how many the publisher called identified.
        file_name: the file it was imported from.
    """

    source: str
    list_name: str
    released: date | None
    position: int
    releases: int
    rows: int
    top_line: int | None = None
    top_line_identified: int | None = None
    file_name: str = ""

    @property
    def newest(self) -> bool:
        """Whether it is the list's newest release."""
        return self.position == self.releases

    @property
    def label(self) -> str:
        """The release as people read it: its name and date."""
        when = self.released.isoformat() if self.released else "date unknown"
        return f"{self.source} ({when})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = asdict(self)
        out["released"] = self.released.isoformat() if self.released else None
        out["newest"] = self.newest
        return out


def _date(value: Any) -> date | None:
    if value is None or (not isinstance(value, (str, date)) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def release_table(reader: Reader) -> list[ReleaseInfo]:
    """Every source of the case as a release of its list, lists in import order, releases oldest first."""
    frame = reader.query(_RELEASES_SQL + " ORDER BY s.imported_at, s.name")
    if frame.empty:
        return []
    frame["order_date"] = pd.to_datetime(frame["released"])
    first_import = frame.groupby("list_name", sort=False)["imported_at"].transform("min")
    frame = frame.assign(first_import=first_import, dated=frame["order_date"].notna()).sort_values(
        ["first_import", "list_name", "dated", "order_date", "imported_at"], kind="stable")  # undated first
    out: list[ReleaseInfo] = []
    for name, group in frame.groupby("list_name", sort=False):
        for i, row in enumerate(group.itertuples(index=False), start=1):
            out.append(ReleaseInfo(
                source=str(row.source), list_name=str(name), released=_date(row.released), position=i,
                releases=len(group), rows=_int(row.rows) or 0, top_line=_int(row.top_line),
                top_line_identified=_int(row.top_line_identified), file_name=str(row.file_name)))
    return out


def list_releases(reader: Reader, name: str) -> list[ReleaseInfo]:
    """The releases of one list, oldest first.

    Args:
        reader: the case.
        name: the list's name, or the name of one of its releases.

    Raises:
        ConfigError: no list or release of that name.
    """
    table = release_table(reader)
    owner = next((r.list_name for r in table if r.source == name or r.list_name == name), None)
    if owner is None:
        known = sorted({r.list_name for r in table})
        raise ConfigError(f"the case has no list or release named {name!r}"
                          + (f": its lists are {', '.join(known)}" if known else ": import a list first"))
    return [r for r in table if r.list_name == owner]


def default_release_name(list_name: str, released: date | None) -> str:
    """The name a new release gets when none is given: ``LIST@YYYY-MM-DD``."""
    return f"{list_name}@{released.isoformat()}" if released else list_name


def parse_release_choices(items: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``["LIST=RELEASE", ...]`` (a release's name or its date) as a dict.

    Raises:
        ConfigError: an item without '=' or a list named twice.
    """
    if not items:
        return {}
    if isinstance(items, Mapping):
        return {str(k): str(v) for k, v in items.items()}
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"release choice {item!r}: write LIST=RELEASE (a release's name or date)")
        if key.strip() in out:
            raise ConfigError(f"release of list {key.strip()!r} chosen twice")
        out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class ReleaseChoice:
    """The release used for each list, and what was left out.

    Attributes:
        sources: the sources used, one per list, in the case's list order.
        lists: list name -> the release used.
        left_out: sources present but not used (earlier, or later, releases of a used list).
        chosen: lists whose release was chosen by the caller rather than the newest.
        unlinked: list name -> its newest release when that one is not among the sources present
            (imported after the link run).
    """

    sources: tuple[str, ...]
    lists: dict[str, ReleaseInfo] = field(default_factory=dict)
    left_out: tuple[str, ...] = ()
    chosen: tuple[str, ...] = ()
    unlinked: dict[str, ReleaseInfo] = field(default_factory=dict)

    @property
    def several(self) -> dict[str, ReleaseInfo]:
        """The lists that have more than one release (the ones worth a note)."""
        return {k: v for k, v in self.lists.items() if v.releases > 1}

    def notes(self, verb: str = "counted") -> list[str]:
        """One line per list with several releases: which release is used and why.

        Args:
            verb: what is done with the release ('counted' by estimation, 'linked' by linkage).
        """
        out = []
        for name, info in self.several.items():
            why = "as asked" if name in self.chosen else (
                "the newest linked" if name in self.unlinked else "the newest")
            others = info.releases - 1
            out.append(f"list '{name}': release {info.label} is {verb} ({why} of its {info.releases} releases); "
                       f"the other{'s' if others != 1 else ''} {'are' if others != 1 else 'is'} not")
            if name in self.unlinked and name not in self.chosen:
                out.append(f"list '{name}': its newest release {self.unlinked[name].label} is not linked yet: "
                           "run 'undercount link' to count it")
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: per list with several releases, the release used."""
        return {name: {"release": info.source, "released": info.released.isoformat() if info.released else None,
                       "position": info.position, "releases": info.releases, "chosen": name in self.chosen,
                       "newest": info.newest}
                for name, info in self.several.items()}


def _pick(releases: list[ReleaseInfo], wanted: str, list_name: str) -> ReleaseInfo:
    for rel in releases:
        if wanted in (rel.source, rel.released.isoformat() if rel.released else None):
            return rel
    raise ConfigError(f"list {list_name!r} has no release {wanted!r}: its releases are "
                      + ", ".join(r.label for r in releases))


def choose_releases(reader: Reader, present: Iterable[str] | None = None,
                    chosen: Mapping[str, str] | Sequence[str] | None = None) -> ReleaseChoice:
    """The one release of each list to use: the newest among ``present`` unless ``chosen`` names one.

    Args:
        reader: the case.
        present: the sources available (e.g. those a link run linked); default: every source.
        chosen: list name -> release name or date (``LIST=RELEASE`` items also do).

    Returns:
        A :class:`ReleaseChoice`.

    Raises:
        ConfigError: a chosen list or release that does not exist, or is not among ``present``.
    """
    table = release_table(reader)
    wanted = parse_release_choices(chosen)
    available = set(present) if present is not None else {r.source for r in table}
    by_list: dict[str, list[ReleaseInfo]] = {}
    for rel in table:
        by_list.setdefault(rel.list_name, []).append(rel)
    for name in wanted:
        if name not in by_list:
            owner = next((r.list_name for r in table if r.source == name), None)
            hint = f" (it is a release of list {owner!r})" if owner else ""
            raise ConfigError(f"the case has no list named {name!r}{hint}")
    used: dict[str, ReleaseInfo] = {}
    for name, rels in by_list.items():
        if name in wanted:
            pick = _pick(rels, wanted[name], name)
            if pick.source not in available:
                raise ConfigError(f"release {pick.label} of list {name!r} is not linked: run "
                                  f"'undercount link CASE --release {name}={pick.source}' first")
            used[name] = pick
            continue
        here = [r for r in rels if r.source in available]
        if here:
            used[name] = here[-1]
    left = tuple(r.source for r in table if r.source in available and used.get(r.list_name) is not r)
    unlinked = {name: rels[-1] for name, rels in by_list.items() if name in used and rels[-1].source not in available}
    return ReleaseChoice(tuple(r.source for r in used.values()), used, left, tuple(n for n in wanted if n in used),
                         unlinked)


def current_sources(reader: Reader, chosen: Mapping[str, str] | Sequence[str] | None = None) -> list[str]:
    """The sources linkage uses: one release per list (the newest unless ``chosen`` names another)."""
    return list(choose_releases(reader, None, chosen).sources)
