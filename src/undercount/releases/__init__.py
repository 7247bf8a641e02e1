"""Releases of one list over time: the diff of two releases, their top lines, their history.

``undercount import CASE FILE --release-of LIST --released DATE`` stores a new release
(:mod:`undercount.store.releases` keeps them in order); :func:`diff_releases` tells, record by
record, what changed between two of them. See docs/releases.md.
"""

from undercount.releases.diff import DiffOptions, DiffResult, diff_releases, pick_releases, read_diff, write_diff
from undercount.releases.match import CLASSES, COMPARED
from undercount.releases.profile import GROUPS, composition, release_profile
from undercount.releases.stored import diff_runs

__all__ = [
    "CLASSES",
    "COMPARED",
    "DiffOptions",
    "DiffResult",
    "GROUPS",
    "composition",
    "diff_releases",
    "diff_runs",
    "pick_releases",
    "read_diff",
    "release_profile",
    "write_diff",
]
