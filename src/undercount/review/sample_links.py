"""The search sample's second half: persons whose links people review, for the FALSE links (issue 13).

A false link merges two true persons into one: the capture table loses a person and holds one on
more lists than either was, and the estimate falls. The search half of the sample
(:mod:`undercount.review.sample`) finds only the links linkage missed; no search can find a link
that should not be there. So the sample also draws persons of the **linked** cells, every person
that linkage built from two or more records, and for each a reviewer says, record by record,
whether the person's other records are the same person as its first one: **same person** or
**not this person**. The records answered "not this person" are split off together into one
other person (the correction, :mod:`undercount.estimate.correction`).

Design: the linked persons are stratified by the model's own doubt about their links, the sum of
``1 - p`` over the stored pairs a person holds (capped at 1): the bands ``DOUBT_BANDS``, from
``REVIEW_FROM`` up. False links lie almost all among persons with doubtful links, and the bands
let the sample look there without giving up a random sample of the rest: every band is sampled
(simple random sampling within a band), so the correction is design-based above ``REVIEW_FROM``.
Below it (links the model is 99.9% sure of, about three persons in four) the links are taken as
they are: on the end-to-end cases of 12,000 people 4 of 8,778 such persons were false merges
(0.05%), and sampling them put a heavy tail on the correction (one false merge found among 40
drawn of 3,000 counts for 75) for a bias of about 0.05% of the total (docs/missed-links.md).
The allocation is Neyman's over the search cells and the review bands together, a band's rate
being its mean doubt (at least ``MIN_DOUBT``): both halves correct persons one by one, so one
allocation spreads the 300 searches where a person's answer is least predictable.

An item of this half has no list to search (``search_lists`` is empty); its ``cell`` is its band's
name, and every record of the person after the first (``record_ids[1:]``) is to be reviewed. Its
answers name the record reviewed (``found_record_id``) and its list.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "DOUBT_BANDS",
    "LINK_ANSWERS",
    "MIN_DOUBT",
    "REVIEW_FROM",
    "REVIEW_PREFIX",
    "band_name",
    "is_review",
    "item_status",
    "link_doubt",
    "review_problem",
]

#: Answers on a reviewed record: it is the same person as the person's first record, or not.
LINK_ANSWERS = ("same", "different")
#: Linked persons whose doubt is below this are not reviewed (their links are taken as they are).
REVIEW_FROM = 0.001
#: Upper ends of the doubt bands from REVIEW_FROM (the last band holds everything above).
DOUBT_BANDS = (0.01, 0.1)
#: The least rate a band is allocated for: the model's doubt is a guide, not the truth.
MIN_DOUBT = 0.001
REVIEW_PREFIX = "links, doubt "


def band_name(doubt: float) -> str:
    """The review stratum of a linked person with this doubt ('links, doubt 0.001-0.01'; below
    ``REVIEW_FROM``: 'links, doubt < 0.001', a band that is not drawn)."""
    if doubt < REVIEW_FROM:
        return f"{REVIEW_PREFIX}< {REVIEW_FROM:g}"
    low = REVIEW_FROM
    for high in DOUBT_BANDS:
        if doubt < high:
            return f"{REVIEW_PREFIX}{low:g}-{high:g}"
        low = high
    return f"{REVIEW_PREFIX}>= {low:g}"


def link_doubt(pairs: pd.DataFrame, person: pd.Series) -> pd.Series:
    """Per person, the sum of ``1 - p`` over the stored pairs it holds, capped at 1.

    Args:
        pairs: record_id_l, record_id_r, probability.
        person: person_id by record_id.
    """
    left = person.reindex(pairs["record_id_l"]).to_numpy()
    right = person.reindex(pairs["record_id_r"]).to_numpy()
    held = pd.notna(left) & (left == right)
    doubt = pd.Series(1.0 - pairs["probability"].to_numpy(dtype=float)[held], index=left[held])
    out: pd.Series = doubt.groupby(level=0).sum().clip(upper=1.0)
    return out


def is_review(items: pd.DataFrame) -> pd.Series:
    """Per item, whether its links are reviewed (no list to search) rather than lists searched."""
    flags: pd.Series = items["search_lists"].map(len) == 0
    return flags


def item_status(items: pd.DataFrame, got: pd.DataFrame) -> pd.DataFrame:
    """Per item (index): ``need`` answers (lists to search, or records to review), ``done`` (lists
    answered found or absent, records answered same or different), ``complete``, ``found`` (a
    record found on another list) and ``split`` (a record answered not this person).

    Args:
        items: the sample's items (item, record_ids, search_lists).
        got: the newest answers (item, list, answer, found_record_id).
    """
    review = is_review(items).to_numpy()
    need = np.where(review, items["record_ids"].map(len).to_numpy() - 1, items["search_lists"].map(len).to_numpy())
    decided = got[got["answer"].isin(["found", "absent", *LINK_ANSWERS])]
    key = decided["list"].astype(str) + "#" + decided["found_record_id"].astype("string").fillna("")
    searched = decided["answer"].isin(["found", "absent"]).to_numpy()
    key = key.where(~searched, decided["list"].astype(str))
    done = key.groupby(decided["item"]).nunique()
    found = decided.loc[decided["answer"] == "found", "item"].unique()
    split = decided.loc[decided["answer"] == "different", "item"].unique()
    index = items["item"].astype(int).to_numpy()
    out = pd.DataFrame({"need": need.astype(int), "done": done.reindex(index, fill_value=0).to_numpy(dtype=int)},
                       index=pd.Index(index, name="item"))
    out["complete"] = out["done"] >= out["need"]
    out["review"] = review
    out["found"] = out.index.isin(found)
    out["split"] = out.index.isin(split)
    return out


def review_problem(records: list[int], record: int | None, list_name: str, source: str | None) -> str | None:
    """Why an answer on a reviewed record cannot be stored, or None.

    Args:
        records: the item's records (the first is the person it is compared with).
        record: the record answered on.
        list_name: the list given with the answer.
        source: that record's list in the case (None: no such record).
    """
    if record is None:
        return "an answer on a linked record names the record reviewed"
    if record not in records[1:]:
        first = " (the person's first record is what the others are compared with)" if records and record == records[0] \
            else ""
        return f"record {record} is not one of this person's records to review{first}"
    if source != list_name:
        return f"record {record} is on list {source!r}, not on the list given"
    return None
