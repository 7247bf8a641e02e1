"""The clerical search sample: people search the other lists for a random sample of persons (issue 13).

A true pair of records that linkage misses splits one person into two fragments, each on fewer
lists, and the estimate of the total rises. No model can say how many such pairs it missed (it
would have linked them); people can. A **search sample** is a random sample of the persons of the
capture-history cells that missed links inflate: by default every cell **without the largest
list**, because every person that linkage split leaves at least one fragment there (only one
fragment can hold the largest list's record), and those cells are smaller than the largest list's
own, so a search finds a fragment more often. For each sampled person a reviewer searches every
list the person is not on, helped by the best candidates the linkage scored and a search box,
and answers per list "found: this record" or "not on that list". The sample's second half reviews the
links of persons that linkage built from several records, for the false links a search cannot find
(:mod:`undercount.review.sample_links`). The answers correct the capture histories in both
directions, with the sample's variance (:mod:`undercount.estimate.correction`).

Design: stratified by cell and, within a cell, by bands of the model's fragment score (the sum of
the probabilities of a person's stored pairs left apart; :func:`search_strata`), simple random
sampling without replacement within a stratum. The score is only a guide to where fragments lie:
every band is sampled, so the correction stays design-based, and the bands put the searches where
fragments are (on the end-to-end cases of 12,000 people about half the true fragments lie among the
8% of searched persons scored 0.1 or more; docs/missed-links.md). The allocation is Neyman's,
``n_S`` proportional to ``N_S * sqrt(r_S (1 - r_S))``, in two steps: first over the cells and the
review half's bands (``r_S`` a cell's mean fragment score or a band's mean doubt, at least 2%),
then each cell's draws among its score bands (``r_S`` the band's mean score), with at least
``MIN_PER_CELL`` persons per stratum (or the whole stratum); a cell whose draws cannot give each
band its floor stays whole. The first step is the allocation without the bands, so the bands move
draws only within a cell (one Neyman allocation over every band drew searches away from the review
half and measured worse on two of five cases; docs/missed-links.md). The review half's strata (bands of the model's doubt about
a person's links) take part in the same allocation. The cell sizes and sample sizes are stored with
each item, so the estimate of the correction is design-based.

Tables (append-only): ``uc_search_sample`` (one row per sampled person, with the records it held
and the lists to search) and ``uc_search_answers`` (one row per answer, with who and when; the
newest answer per item and list wins). Drawing a sample is a run of kind ``search-sample``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from undercount.errors import ConfigError, InputError, InputProblem, StoreError
from undercount.review.listing import plain_rows
from undercount.review.sample_links import (
    LINK_ANSWERS,
    MIN_DOUBT,
    REVIEW_FROM,
    band_name,
    item_status,
    link_doubt,
    review_problem,
)
from undercount.store import Case
from undercount.store.runs import CLUSTER_KINDS, Reader, newest_run

__all__ = [
    "ANSWERS",
    "MIN_PER_CELL",
    "SearchSample",
    "answers",
    "candidates",
    "cell_name",
    "draw_search_sample",
    "fragment_scores",
    "latest_sample",
    "linked_lists",
    "record_answer",
    "sample_items",
    "sample_progress",
    "sample_records",
    "search_records",
    "search_strata",
    "stratum_cell",
    "target_cells",
]

ANSWERS = ("found", "absent", "skip", *LINK_ANSWERS)
MIN_PER_CELL = 10
MIN_RATE = 0.02
CELL_SEPARATOR = "+"
#: Upper ends of the bands of the model's fragment score that split a searched cell into strata
#: (the last band holds everything above); the decades of the review half's doubt bands.
SCORE_BANDS = (0.01, 0.1)
SCORE_SEPARATOR = ", fragment score "


@dataclass(frozen=True)
class SearchSample:
    """A search sample that was drawn and stored.

    Attributes:
        sample_id: its id (also the run id of kind ``search-sample``).
        link_run_id: the clusters it was drawn from.
        items: persons drawn.
        cells: cell -> (persons in the cell, persons drawn).
    """

    sample_id: str
    link_run_id: str
    items: int
    cells: dict[str, tuple[int, int]]

    def to_dict(self) -> dict[str, Any]:
        """The sample as a JSON-ready dict (figures only)."""
        return {"sample_id": self.sample_id, "link_run_id": self.link_run_id, "items": self.items,
                "cells": {k: {"persons": n, "drawn": m} for k, (n, m) in self.cells.items()}}


def cell_name(lists: list[str] | tuple[str, ...]) -> str:
    """A capture pattern as text: the list names in the case's order joined by '+'."""
    return CELL_SEPARATOR.join(lists)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def linked_lists(case: Case, sources: pd.Series) -> list[str]:
    """The lists that hold linked records, in the case's import order (others after, by name)."""
    present = {str(s) for s in sources.dropna().unique()}
    imported = [str(s) for s in case.sources()["name"].tolist()]
    return [s for s in imported if s in present] + sorted(present - set(imported))


def _persons(case: Case) -> tuple[pd.DataFrame, list[str], str]:
    """Per person: its records, its lists (in the case's order) and its cell."""
    run = case.current_link_run()
    if run is None:
        raise StoreError(f"{case.path} has not been linked: run 'undercount link {case.path}' first")
    clusters = case.clusters(run)
    lists = linked_lists(case, clusters["source"])
    if len(lists) < 2:
        raise StoreError(f"{case.path} holds {len(lists)} linked list(s): a search sample needs at least two")
    order = {name: i for i, name in enumerate(lists)}
    records: dict[str, list[int]] = {}
    on: dict[str, set[str]] = {}
    for rid, src, pid in clusters[["record_id", "source", "person_id"]].itertuples(index=False):
        records.setdefault(str(pid), []).append(int(rid))
        on.setdefault(str(pid), set()).add(str(src))
    ids = sorted(records)
    persons = pd.DataFrame({
        "records": pd.Series([sorted(records[p]) for p in ids], index=ids, dtype=object),
        "lists": pd.Series([tuple(sorted(on[p], key=order.__getitem__)) for p in ids], index=ids, dtype=object),
    })
    persons["cell"] = persons["lists"].map(cell_name)
    return persons, lists, run


def _stored_pairs(case: Case, run: str) -> pd.DataFrame:
    return case.query("SELECT record_id_l, record_id_r, probability FROM uc_pairs WHERE run_id = ?",
                      [case.current_run("link") or run])


def fragment_scores(pairs: pd.DataFrame, persons: pd.DataFrame) -> pd.Series:
    """Per person, the model's word that it is a fragment: the sum of the probabilities of its stored
    pairs left apart (pairs to records of other persons), capped at 1."""
    person = {r: p for p, recs in persons["records"].items() for r in recs}
    left = pairs["record_id_l"].map(person)
    right = pairs["record_id_r"].map(person)
    apart = left.notna() & right.notna() & (left != right)
    weight = pd.concat([pd.Series(pairs.loc[apart, "probability"].to_numpy(), index=left[apart].to_numpy()),
                        pd.Series(pairs.loc[apart, "probability"].to_numpy(), index=right[apart].to_numpy())])
    out: pd.Series = weight.groupby(level=0).sum().clip(upper=1.0).reindex(persons.index, fill_value=0.0)
    return out


def stratum_cell(stratum: str) -> str:
    """The capture-history cell of a search stratum ('survey, fragment score >= 0.1' -> 'survey')."""
    return stratum.split(SCORE_SEPARATOR)[0]


def search_strata(cells: pd.Series, scores: pd.Series) -> pd.Series:
    """Per person of the cells searched, its stratum: its cell, split by the model's fragment score
    into the bands ``SCORE_BANDS`` ('survey', 'survey, fragment score 0.01-0.1', 'survey, fragment
    score >= 0.1'). A band of a cell becomes a stratum of its own only when it holds at least
    ``MIN_PER_CELL`` persons; otherwise its persons stay in the cell's first stratum (named after the cell).

    Args:
        cells: each searched person's cell (index: person_id).
        scores: each person's fragment score (:func:`fragment_scores`).
    """
    bands = np.digitize(scores.reindex(cells.index).to_numpy(dtype=float), SCORE_BANDS)
    edges = (0.0, *SCORE_BANDS)
    names = [f"{SCORE_SEPARATOR}{edges[b]:g}-{SCORE_BANDS[b]:g}" if b < len(SCORE_BANDS)
             else f"{SCORE_SEPARATOR}>= {SCORE_BANDS[-1]:g}" for b in range(len(SCORE_BANDS) + 1)]
    label = pd.Series([c + (names[b] if b else "") for c, b in zip(cells.to_numpy(), bands)], index=cells.index)
    small = label.map(label.value_counts()) < MIN_PER_CELL
    out: pd.Series = label.where(~small | (bands == 0), cells)
    return out


def _split_cells(cells: pd.Series, alloc: pd.Series, banded: pd.Series, scores: pd.Series
                 ) -> tuple[pd.Series, pd.Series]:
    """The searched persons' strata and the allocation with each searched cell's draws shared among
    its score bands (``banded``, :func:`search_strata`) by Neyman's rule on the bands' mean scores:
    the cells' and the review bands' shares of the sample stay as allocated; a cell whose draws
    cannot give each band its floor stays whole.

    Args:
        cells: each searched person's cell.
        alloc: draws per cell (and per review band, kept as they are).
        banded: each searched person's score-band stratum.
        scores: each person's fragment score.
    """
    out = cells.copy()
    parts = []
    # grouped once for all cells (the searched persons can be hundreds of thousands); a cell whose
    # persons all sit in bands above the first has no stratum of its bare name and is found too
    by_cell = {str(cell): members for cell, members in banded.groupby(banded.map(stratum_cell).to_numpy())}
    for cell, n_cell in alloc.items():
        members = by_cell.get(str(cell), banded.iloc[:0])
        sizes = members.value_counts().sort_index()
        if len(sizes) < 2 or int(np.minimum(sizes, MIN_PER_CELL).sum()) > n_cell:
            parts.append(pd.Series({cell: int(n_cell)}))
            continue
        parts.append(_allocate(sizes, _fragment_rates(scores, members), int(n_cell)))
        out.loc[members.index] = members
    return out, pd.concat(parts)


def _fragment_rates(scores: pd.Series, strata: pd.Series) -> pd.Series:
    """Per stratum, the share of its persons the stored pairs say are probably fragments."""
    rate: pd.Series = scores.reindex(strata.index).groupby(strata.to_numpy()).mean().clip(lower=MIN_RATE, upper=0.5)
    return rate


def _allocate(sizes: pd.Series, rates: pd.Series, size: int) -> pd.Series:
    """Neyman allocation of ``size`` draws over cells, at least MIN_PER_CELL (or the whole cell) each."""
    if int(sizes.sum()) <= size:  # the cells hold fewer persons than asked for: take them all
        return sizes.astype(int)
    floor = np.minimum(sizes.to_numpy(), MIN_PER_CELL)
    if floor.sum() > size:
        raise ConfigError(f"a sample of {size} cannot hold {MIN_PER_CELL} persons from each of the "
                          f"{len(sizes)} cells: ask for at least {int(floor.sum())}")
    rate = rates.reindex(sizes.index).fillna(MIN_RATE).to_numpy(dtype=float)
    weight = sizes.to_numpy() * np.sqrt(rate * (1 - rate))
    alloc = floor.astype(float)
    free = np.ones(len(sizes), dtype=bool)
    left = size - floor.sum()
    for _ in range(len(sizes) + 1):  # cap at the cell size and share out again
        share = np.where(free, weight, 0.0)
        if share.sum() <= 0 or left <= 0:
            break
        extra = left * share / share.sum()
        room = sizes.to_numpy() - alloc
        capped = free & (extra >= room)
        if not capped.any():
            alloc += np.where(free, extra, 0.0)
            break
        alloc[capped] = sizes.to_numpy()[capped]
        left -= room[capped].sum()
        free &= ~capped
    out = np.floor(alloc).astype(int)
    rest = np.argsort(-(alloc - out))  # largest remainders get the last draws
    for i in rest[: max(0, min(size, int(sizes.sum())) - int(out.sum()))]:
        if out[i] < sizes.iloc[i]:
            out[i] += 1
    return pd.Series(out, index=sizes.index)


def target_cells(persons: pd.DataFrame, lists: list[str]) -> list[str]:
    """The default cells to sample: every pattern without the list that holds the most persons."""
    counts = {name: int(persons["lists"].map(lambda on, n=name: n in on).sum()) for name in lists}
    largest = max(lists, key=lambda n: (counts[n], -lists.index(n)))
    return sorted({c for c, on in zip(persons["cell"], persons["lists"]) if largest not in on})


def _review_strata(pairs: pd.DataFrame, persons: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The review half: each linked person's band (by person; doubt REVIEW_FROM and up) and each
    band's rate (its mean doubt)."""
    linked = persons[persons["records"].map(len) >= 2]
    person = pd.Series({r: p for p, recs in linked["records"].items() for r in recs}, dtype=object)
    doubt = link_doubt(pairs, person).reindex(linked.index, fill_value=0.0)
    doubt = doubt[doubt >= REVIEW_FROM]
    bands = doubt.map(band_name)
    rates: pd.Series = doubt.groupby(bands).mean().clip(lower=MIN_DOUBT, upper=0.5)
    return bands, rates


def draw_search_sample(case: Case, size: int = 300, *, seed: int = 0, cells: list[str] | None = None,
                       review: bool = True, username: str | None = None) -> SearchSample:
    """Draw a search sample from the current clusters and store it.

    Args:
        case: a linked case.
        size: persons to draw in all (both halves).
        seed: random seed (the same seed and clusters give the same sample).
        cells: the cells to search (names such as 'survey+obituaries'); default
            :func:`target_cells`. A cell of persons on every list cannot be searched.
        review: also draw linked persons (two or more records) whose links are reviewed, by band
            of the model's doubt (:mod:`undercount.review.sample_links`); one Neyman allocation
            shares ``size`` between the cells searched and the bands reviewed.
        username: who draws it (default: the OS user).

    Returns:
        The stored :class:`SearchSample`.

    Raises:
        StoreError: the case has not been linked, or holds fewer than two lists.
        ConfigError: a size below one, or too small to draw from every cell.

    Example:
        >>> sample = draw_search_sample(case, 300, seed=1)  # doctest: +SKIP
        >>> sample.items  # doctest: +SKIP
        300
    """
    if size < 1:
        raise ConfigError(f"sample size {size}: draw at least one person")
    if seed < 0:
        raise ConfigError(f"seed must be 0 or more (got {seed})")
    started = _now()
    persons, lists, run = _persons(case)
    wanted = target_cells(persons, lists) if cells is None else list(cells)
    full = cell_name(lists)
    unknown = sorted(set(wanted) - set(persons["cell"]) ) if cells is not None else []
    if full in wanted or unknown:
        bad = full if full in wanted else unknown[0]
        raise ConfigError(f"cell {bad!r} cannot be sampled: choose among "
                          f"{', '.join(sorted(set(persons['cell']) - {full}))}")
    targets = persons[persons["cell"].isin(wanted)]
    pairs = _stored_pairs(case, run)
    scores = fragment_scores(pairs, persons)
    bands, band_rates = _review_strata(pairs, persons) if review else (pd.Series(dtype=object), pd.Series(dtype=float))
    stratum = targets["cell"]
    rates = _fragment_rates(scores, stratum)
    if review:
        stratum = pd.concat([stratum, bands])
        rates = pd.concat([rates, band_rates])
    if stratum.empty:
        raise StoreError(f"every person of {case.path} is on every list and none has two records: there is "
                         "nothing to search or review")
    sizes = stratum.value_counts().sort_index()
    alloc = _allocate(sizes, rates, size)
    search_part, alloc = _split_cells(targets["cell"], alloc, search_strata(targets["cell"], scores), scores)
    stratum = pd.concat([search_part, bands]) if review else search_part
    sizes = stratum.value_counts().sort_index()
    rng = np.random.default_rng(seed)
    rows = []
    searched_cells = set(wanted)
    for cell, n_cell in alloc.items():
        members = stratum.index[stratum.to_numpy() == cell].to_numpy()
        for person in np.sort(rng.choice(members, size=int(n_cell), replace=False)):
            rows.append((person, cell))
    order = rng.permutation(len(rows))
    sample_id = case.new_run_id("search-sample")
    with case.transaction() as con:
        for item, k in enumerate(order, start=1):
            person, cell = rows[k]
            on = set(persons["lists"].loc[person])
            searched = [] if stratum_cell(cell) not in searched_cells else [name for name in lists if name not in on]
            con.execute(
                "INSERT INTO uc_search_sample VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [sample_id, item, person, run, cell, int(sizes[cell]), int(alloc[cell]),
                 persons.at[person, "records"], searched],
            )
        summary = {"items": len(rows), "cells": {c: [int(sizes[c]), int(alloc[c])] for c in alloc.index}}
        case.record_run(con, run_id=sample_id, kind="search-sample", started_at=started,
                        params={"size": size, "seed": seed, "link_run_id": run, "cells": wanted, "review": review},
                        summary=summary, username=username)
    return SearchSample(sample_id, run, len(rows), {c: (int(sizes[c]), int(alloc[c])) for c in alloc.index})


def latest_sample(case: Case) -> str | None:
    """The newest search sample's id, or None."""
    return case.current_run("search-sample")


def _sample_id(case: Case, sample_id: str | None) -> str:
    found = sample_id or latest_sample(case)
    if found is None:
        raise StoreError(f"{case.path} holds no search sample: draw one with 'undercount search-sample {case.path}'")
    exists = case.query("SELECT count(*) AS n FROM uc_search_sample WHERE sample_id = ?", [found])
    if int(exists["n"].iloc[0]) == 0:
        raise StoreError(f"{case.path} holds no search sample {found!r}")
    return found


def sample_items(case: Case, sample_id: str | None = None) -> pd.DataFrame:
    """The items of a sample: item, person_id, cell, cell_size, cell_sampled, record_ids, search_lists."""
    sid = _sample_id(case, sample_id)
    return case.query("SELECT * FROM uc_search_sample WHERE sample_id = ? ORDER BY item", [sid])


def answers(case: Case, sample_id: str | None = None) -> pd.DataFrame:
    """The newest answer per item and list (per item and record reviewed, for the review half):
    item, list, answer, found_record_id (the record found, or reviewed), username, answered_at."""
    sid = _sample_id(case, sample_id)
    return case.query(
        "SELECT item, list_name AS list, answer, found_record_id, username, answered_at, note FROM ("
        "SELECT a.*, row_number() OVER (PARTITION BY a.item, a.list_name, "
        "CASE WHEN len(s.search_lists) = 0 THEN a.found_record_id END "
        "ORDER BY a.answered_at DESC, a.answer_id DESC) AS k "
        "FROM uc_search_answers a JOIN uc_search_sample s ON s.sample_id = a.sample_id AND s.item = a.item "
        "WHERE a.sample_id = ?) WHERE k = 1 ORDER BY item, list, found_record_id",
        [sid],
    )


def sample_progress(case: Case, sample_id: str | None = None) -> dict[str, int]:
    """Items drawn, complete (every list answered found or absent, every linked record same or
    different), with a found record, reviewed persons (the review half) and with a record split off, left."""
    status = item_status(sample_items(case, sample_id), answers(case, sample_id))
    complete = int(status["complete"].sum())
    return {"items": len(status), "complete": complete, "with_found": int(status["found"].sum()),
            "reviewed": int(status["review"].sum()), "with_split": int(status["split"].sum()),
            "left": len(status) - complete}


def record_answer(case: Case, item: int, list_name: str, answer: str, *, found_record_id: int | None = None,
                  sample_id: str | None = None, username: str, note: str | None = None) -> None:
    """Store one answer (append-only; the newest answer per item and list wins).

    Args:
        case: the case.
        item: the sample's item number.
        list_name: the list that was searched (one the person was not on), or the list of the
            record reviewed (the review half).
        answer: 'found' (give ``found_record_id``, a record of that list), 'absent' (not on that
            list) or 'skip'; for a reviewed record, 'same' (the same person as the person's first
            record), 'different' (not this person: it is split off) or 'skip'.
        found_record_id: the record found, or the record reviewed.
        sample_id: the sample (default: the newest).
        username: who answers.
        note: a free note (never shown outside the case).

    Raises:
        ConfigError: an unknown item, list or answer, or a found record missing or of another list.
    """
    sid = _sample_id(case, sample_id)
    problem = _check_answer(case, sid, item, list_name, answer, found_record_id)
    if problem:
        raise ConfigError(problem)
    with case.transaction() as con:
        _insert_answer(con, sid, item, list_name, answer, found_record_id, username, note)
        case.log(con, action="search-answer", username=username,
                 detail={"sample_id": sid, "item": item, "list": list_name, "answer": answer})


def _insert_answer(con: Any, sid: str, item: int, list_name: str, answer: str, found: int | None, username: str,
                   note: str | None) -> None:
    con.execute("INSERT INTO uc_search_answers VALUES (nextval('uc_search_answer_seq'), ?, ?, ?, ?, ?, ?, ?, ?)",
                [sid, int(item), list_name, answer, None if found is None else int(found), username, _now(), note])


def _check_answer(case: Case, sid: str, item: int, list_name: str, answer: str, found: int | None) -> str | None:
    """Why an answer cannot be stored, or None."""
    if answer not in ANSWERS:
        # the value is not echoed: a sheet filled in the wrong columns puts names here
        return f"the answer is not one of {', '.join(ANSWERS)}"
    row = case.query("SELECT search_lists, record_ids FROM uc_search_sample WHERE sample_id = ? AND item = ?",
                     [sid, int(item)])
    if row.empty:
        return f"item {item} is not in search sample {sid}"
    searched = list(row["search_lists"].iloc[0])
    if not searched:  # the review half: an answer on one of the person's linked records
        if answer in ("found", "absent"):
            return f"item {item}'s links are reviewed: answer {', '.join(LINK_ANSWERS)} or skip for each linked record"
        rec = None if found is None else case.query("SELECT source FROM uc_records WHERE record_id = ?", [int(found)])
        source = None if rec is None or rec.empty else str(rec["source"].iloc[0])
        return review_problem([int(r) for r in row["record_ids"].iloc[0]], found, list_name, source)
    if answer in LINK_ANSWERS:
        return f"item {item} is searched in other lists: answer found, absent or skip"
    if list_name not in searched:
        return f"item {item} is not searched in the list given (its lists to search: {', '.join(searched)})"
    if answer == "found":
        if found is None:
            return "a 'found' answer needs the record found"
        rec = case.query("SELECT source FROM uc_records WHERE record_id = ?", [int(found)])
        if rec.empty:
            return f"record {found} is not in the case"
        if str(rec["source"].iloc[0]) != list_name:
            return f"record {found} is on list {rec['source'].iloc[0]!r}, not on the list given"
    elif found is not None:
        return f"only a 'found' answer names a record (got {answer!r} with record {found})"
    return None


def record_answers(case: Case, rows: pd.DataFrame, *, sample_id: str | None = None, username: str,
                   file: str | None = None) -> int:
    """Store many answers at once (all or none), e.g. from a spreadsheet filled in offline.

    Args:
        rows: columns item, list, answer, found_record_id (null unless found), note (optional),
            review_record_id (the record reviewed, for the review half's rows; optional);
            rows whose answer is empty are left out.
        file: the file's name, for messages.

    Returns:
        Answers stored.

    Raises:
        InputError: a bad row (file, row and column named; every problem listed); nothing is stored.
    """
    sid = _sample_id(case, sample_id)
    with case.reading():  # the checks' queries share one connection (opening one costs tens of ms)
        problems, todo = _checked_answers(case, sid, rows)
    if problems:
        first = problems[0]
        raise InputError(first.message, file=file, row=first.row, column=first.column, problems=problems)
    with case.transaction() as con:
        for item, list_name, answer, found, note in todo:
            _insert_answer(con, sid, item, list_name, answer, found, username, note)
        case.log(con, action="search-answers", username=username,
                 detail={"sample_id": sid, "answers": len(todo), "file": file})
    return len(todo)


def _checked_answers(case: Case, sid: str, rows: pd.DataFrame
                     ) -> tuple[list[InputProblem], list[tuple[int, str, str, int | None, str | None]]]:
    """The problems of the rows (file row numbers from 1), and the rows to store (item, list, answer, found, note)."""
    problems: list[InputProblem] = []
    todo: list[tuple[int, str, str, int | None, str | None]] = []
    for i, row in enumerate(rows.to_dict("records"), start=1):
        answer = str(row.get("answer") or "").strip().lower()
        if not answer:
            continue
        try:
            item = int(row["item"])
            found_raw = row.get("found_record_id")
            reviewed = row.get("review_record_id")
            if reviewed is not None and not pd.isna(reviewed) and str(reviewed).strip():
                found_raw = reviewed
            found = None if found_raw is None or pd.isna(found_raw) or str(found_raw).strip() == "" else int(
                float(str(found_raw).strip().lstrip("'")))
        except (TypeError, ValueError):
            problems.append(InputProblem("item and found_record_id must be whole numbers", i, "item"))
            continue
        list_name = str(row.get("list") or "").strip()
        problem = _check_answer(case, sid, item, list_name, answer, found)
        if problem:
            problems.append(InputProblem(problem, i, "answer"))
            continue
        note = row.get("note")
        todo.append((item, list_name, answer, found, None if note is None or pd.isna(note) else str(note)))
    return problems, todo


def candidates(case: Case, item: int, list_name: str, *, sample_id: str | None = None, limit: int = 5) -> pd.DataFrame:
    """The best candidates on a list for a sampled person: records of that list paired with the
    person's records by the link run, most probable first.

    Returns:
        record_id and probability (the best pair's), at most ``limit`` rows.
    """
    items = sample_items(case, sample_id)
    row = items[items["item"] == int(item)]
    if row.empty:
        raise ConfigError(f"item {item} is not in the search sample")
    records = [int(r) for r in row["record_ids"].iloc[0]]
    run = case.current_run("link")
    found = case.query(
        "WITH p AS (SELECT CASE WHEN record_id_l IN (SELECT unnest(?)) THEN record_id_r ELSE record_id_l END AS other, "
        "probability FROM uc_pairs WHERE run_id = ? AND (record_id_l IN (SELECT unnest(?)) "
        "OR record_id_r IN (SELECT unnest(?)))) "
        "SELECT p.other AS record_id, max(p.probability) AS probability FROM p JOIN uc_records r ON r.record_id = p.other "
        "WHERE r.source = ? GROUP BY p.other ORDER BY probability DESC, record_id LIMIT ?",
        [records, run, records, records, list_name, int(limit)],
    )
    return found


def sample_records(reader: Reader, ids: list[int]) -> list[dict[str, Any]]:
    """Records by id, in the given order, with their person in the current clusters (plain rows)."""
    if not ids:
        return []
    run = newest_run(reader, CLUSTER_KINDS)
    found = reader.query(
        "SELECT r.*, c.person_id FROM uc_records r LEFT JOIN uc_clusters c ON c.record_id = r.record_id "
        "AND c.run_id = ? WHERE r.record_id IN (SELECT unnest(?))", [run, [int(i) for i in ids]])
    rows = {int(r["record_id"]): r for r in plain_rows(found)}
    return [rows[int(i)] for i in ids if int(i) in rows]


def search_records(case: Case, list_name: str, query: str, *, limit: int = 20) -> pd.DataFrame:
    """Records of a list whose name holds every part of ``query`` (any script: compared by key).

    Returns:
        record_id and the number of query parts matched, best first (names are read by the caller).
    """
    from undercount.names import name_key

    keys = [k for k in name_key(query).split() if k]
    if not keys:
        return pd.DataFrame({"record_id": pd.Series(dtype="int64"), "matched": pd.Series(dtype="int64")})
    found = case.query(
        "SELECT record_id, len(list_intersect(string_split(coalesce(name_key, ''), ' '), ?)) AS matched "
        "FROM uc_records WHERE source = ? AND matched > 0 ORDER BY matched DESC, record_id LIMIT ?",
        [keys, list_name, int(limit)],
    )
    return found[found["matched"] >= max(1, len(keys) - 1)].reset_index(drop=True)


def sample_summary(case: Case, sample_id: str | None = None) -> dict[str, Any]:
    """Figures of a sample: its cells, its progress and the run it came from (no names)."""
    sid = _sample_id(case, sample_id)
    runs = case.runs("search-sample")
    row = runs[runs["run_id"] == sid]
    summary = json.loads(row["summary"].iloc[0]) if not row.empty else {}
    return {"sample_id": sid, **summary, **sample_progress(case, sid)}


ANSWER_COLUMNS = ("answer", "found_record_id", "note")


def export_frame(case: Case, *, sample_id: str | None = None, limit: int = 5) -> pd.DataFrame:
    """The sample as a sheet to fill in offline: one row per item and list to search, and one per
    item and linked record to review (the review half).

    Columns: item, cell, list (to search, or of the record to review), the person's records (ids,
    names, age, sex, ID, date of birth), up to ``limit`` candidates of that list (record id, name,
    age, sex, probability), the record to review (``review_record_id``, its name, age and sex;
    empty on a search row), and empty answer columns: ``answer`` (found, absent or skip on a
    search row; same, different or skip on a review row), ``found_record_id`` and ``note``.
    The sheet holds names and ID numbers: write it with :func:`undercount.store.output.write_table`
    (owner-only file, audited).
    """
    with case.reading():  # one connection for the sheet's queries (a few per item; opening one costs tens of ms)
        return _export_frame(case, sample_id=sample_id, limit=limit)


def _export_frame(case: Case, *, sample_id: str | None, limit: int) -> pd.DataFrame:
    items = sample_items(case, sample_id)
    fields = ["record_id", "source", "full_name", "age", "sex", "id_number", "date_of_birth"]
    recs = case.records(fields).set_index("record_id")
    got = answers(case, sample_id).to_dict("records")
    done = {(int(a["item"]), str(a["list"])): a for a in got}
    judged = {(int(a["item"]), int(a["found_record_id"])): a for a in got
              if a["found_record_id"] is not None and not pd.isna(a["found_record_id"])}
    rows: list[dict[str, Any]] = []
    blank = dict.fromkeys([f"candidate_{j + 1}_{k}" for j in range(limit)
                           for k in ("record_id", "name", "age", "sex", "probability")])
    for it in items.to_dict("records"):
        item, ids = int(it["item"]), [int(r) for r in it["record_ids"]]
        own = recs.reindex(ids)
        person = {
            "record_ids": "; ".join(str(r) for r in ids),
            "names": " | ".join(str(v) for v in own["full_name"].dropna()),
            "age": "; ".join(str(int(v)) for v in own["age"].dropna()),
            "sex": "; ".join(sorted({str(v) for v in own["sex"].dropna()})),
            "id_number": "; ".join(sorted({str(v) for v in own["id_number"].dropna()})),
            "date_of_birth": "; ".join(sorted({str(v)[:10] for v in own["date_of_birth"].dropna()})),
        }
        for rid in ids[1:] if not len(it["search_lists"]) else []:  # the review half: one row per linked record
            rec = recs.loc[[rid]].iloc[0].to_dict()
            age = rec.get("age")
            prior = judged.get((item, rid), {})
            rows.append({"item": item, "cell": it["cell"], "list": rec.get("source"), **person, **blank,
                         "review_record_id": rid, "review_name": rec.get("full_name"),
                         "review_age": None if age is None or pd.isna(age) else int(age), "review_sex": rec.get("sex"),
                         "answer": prior.get("answer"), "note": prior.get("note"), "found_record_id": None})
        for name in [str(n) for n in it["search_lists"]]:
            row: dict[str, Any] = {"item": item, "cell": it["cell"], "list": name, **person}
            found = candidates(case, item, name, sample_id=sample_id, limit=limit).to_dict("records")
            for j in range(limit):
                cols = [f"candidate_{j + 1}_{k}" for k in ("record_id", "name", "age", "sex", "probability")]
                if j < len(found):
                    rid = int(found[j]["record_id"])
                    cand = recs.loc[[rid]].iloc[0].to_dict()
                    age = cand.get("age")
                    row.update(zip(cols, [rid, cand.get("full_name"), None if age is None or pd.isna(age) else int(age),
                                          cand.get("sex"), round(float(found[j]["probability"]), 3)]))
                else:
                    row.update(dict.fromkeys(cols))
            prior = done.get((item, name), {})
            found_id = prior.get("found_record_id")
            row.update({"answer": prior.get("answer"), "note": prior.get("note"),
                        "found_record_id": None if found_id is None or pd.isna(found_id) else int(found_id)})
            rows.append({**row, **dict.fromkeys(("review_record_id", "review_name", "review_age", "review_sex"))})
    return pd.DataFrame(rows)


def read_answer_sheet(path: str | Any) -> pd.DataFrame:
    """Read a filled-in sheet (CSV or XLSX written by :func:`export_frame`): its item, list and
    answer columns as text.

    Raises:
        InputError: the file cannot be read or lacks a column (file and column named).
    """
    from pathlib import Path

    file = Path(path)
    try:
        if file.suffix.lower() in (".xlsx", ".xlsm"):
            frame = pd.read_excel(file, dtype=str)
        else:
            frame = pd.read_csv(file, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except FileNotFoundError:
        raise InputError("no such file", file=file.name) from None
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read as a sheet of answers ({type(exc).__name__})", file=file.name) from None
    frame.columns = [str(c).strip().lstrip("'") for c in frame.columns]
    for column in ("item", "list", *ANSWER_COLUMNS[:2]):
        if column not in frame.columns:
            raise InputError(f"no {column!r} column: fill in the sheet that 'undercount search-sample export' wrote",
                             file=file.name, column=column)
    keep = ["item", "list", *[c for c in (*ANSWER_COLUMNS, "review_record_id") if c in frame.columns]]
    out = frame[keep].astype(object)
    return out.map(lambda v: v.strip().lstrip("'") if isinstance(v, str) else v).replace({"": None})
