"""The search sample (issue 13): one sampled person at a time, the best candidates of each list
the person is not on, a search box, and the answer "found: this record" or "not on that list";
for a person of the review half, each of its linked records with the answer "same person" or
"not this person"."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from undercount.store import Case
from undercount.web.auth import User
from undercount.web.records import field_rows
from undercount.web.views import MAX_ID, app_data, render, require

__all__ = ["router"]

router = APIRouter()

def _overview(case: Case) -> dict[str, Any]:
    from undercount.review.sample import answers, latest_sample, sample_items, sample_summary
    from undercount.review.sample_links import item_status

    sid = latest_sample(case)
    if sid is None:
        return {"sample": None}
    items = sample_items(case, sid)
    status = item_status(items, answers(case, sid))
    rows = []
    for it, st in zip(items.to_dict("records"), status.to_dict("records"), strict=True):  # both in item order
        rows.append({"item": int(it["item"]), "cell": it["cell"], "lists": list(it["search_lists"]),
                     "review": bool(st["review"]), "done": int(st["done"]), "need": int(st["need"])})
    first_open = next((r["item"] for r in rows if r["done"] < r["need"]), None)
    return {"sample": sample_summary(case, sid), "items": rows, "next": first_open}


def _no_sample(case: Case) -> None:
    from undercount.review.sample import latest_sample

    if latest_sample(case) is None:
        raise HTTPException(status_code=404, detail="No search sample has been drawn: "
                                                    "'undercount search-sample draw CASE' draws one.")


def _item(case: Case, item: int, search_list: str | None, query: str | None) -> dict[str, Any]:
    from undercount.review.sample import answers, candidates, sample_items, sample_records, search_records

    _no_sample(case)
    items = sample_items(case)
    row = items[items["item"] == item]
    if row.empty:
        raise HTTPException(status_code=404, detail=f"There is no item {item} in the search sample.")
    it = row.iloc[0].to_dict()
    own = sample_records(case, [int(r) for r in it["record_ids"]])
    got = [a for a in answers(case).to_dict("records") if int(a["item"]) == item]
    done = {str(a["list"]): a for a in got}
    judged = {int(a["found_record_id"]): a for a in got if a["answer"] in ("same", "different", "skip")
              and a["found_record_id"] is not None and a["found_record_id"] == a["found_record_id"]}
    reviewed = [] if len(it["search_lists"]) else [
        {"record": rec, "rows": field_rows([rec]), "answer": judged.get(int(rec["record_id"]))} for rec in own[1:]]
    sections = []
    for name in [str(n) for n in it["search_lists"]]:
        cands = candidates(case, item, name).to_dict("records")
        probability = {int(c["record_id"]): float(c["probability"]) for c in cands}
        ids = list(probability)
        searched = None
        if search_list == name and query:
            hits = search_records(case, name, query)
            searched = [int(r) for r in hits["record_id"] if int(r) not in probability]
            ids += searched
        records = sample_records(case, ids)
        sections.append({"list": name, "records": records, "rows": field_rows(records) if records else [],
                         "probability": probability, "searched": searched, "answer": done.get(name)})
    next_items = items[items["item"] > item]["item"]
    return {"item": it, "own": own, "own_rows": field_rows(own), "sections": sections, "reviewed": reviewed,
            "first": own[0] if own else None, "first_rows": field_rows(own[:1]),
            "next_item": int(next_items.iloc[0]) if len(next_items) else None,
            "search_list": search_list, "query": query or ""}


@router.get("/search")
def search_overview(request: Request, user: User = Depends(require("viewer"))) -> Response:
    """The newest search sample: its progress and its items."""
    data = app_data(request)
    return render(request, "search.html", data.locked(_overview, data.case))


@router.post("/search/answer")
def search_answer(
    request: Request,
    item: Annotated[int, Form(ge=1, le=10**7)],
    search_list: Annotated[str, Form(alias="list", max_length=200)],
    answer: Annotated[str, Form(max_length=16)],
    found_record_id: Annotated[str | None, Form(max_length=20)] = None,
    record_id: Annotated[str | None, Form(max_length=20)] = None,
    user: User = Depends(require("reviewer")),
) -> Response:
    """Store an answer for one list of one item (append-only, with who and when); for a person of
    the review half, an answer on one linked record (``record_id``: same, different or skip)."""
    from undercount.errors import InputError
    from undercount.review.sample import record_answer

    found: int | None = None
    given, column = (record_id, "record_id") if record_id is not None else (found_record_id, "found_record_id")
    if answer == "found" or record_id is not None:
        text = (given or "").strip()
        if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
            raise InputError("give the record id that was found" if answer == "found" else "give the record reviewed",
                             column=column)
        found = int(text)
    data = app_data(request)
    data.locked(_no_sample, data.case)
    data.locked(record_answer, data.case, item, search_list, answer, found_record_id=found, username=user.username)
    return RedirectResponse(f"/search/{item}", status_code=303)


def _item_page(request: Request, item: int, search_list: str | None, q: str | None, user: User) -> Response:
    if not 1 <= item <= 10**7:
        raise HTTPException(status_code=404, detail=f"There is no item {item} in the search sample.")
    data = app_data(request)
    context = data.locked(_item, data.case, item, search_list, q)
    return render(request, "search_item.html", {**context, "can_answer": user.can("reviewer")})


@router.get("/search/{item}")
def search_item(request: Request, item: int, user: User = Depends(require("viewer"))) -> Response:
    """One sampled person, with the candidates of each list to search and a search box."""
    return _item_page(request, item, None, None, user)


@router.post("/search/{item}")
def search_item_names(
    request: Request,
    item: int,
    search_list: Annotated[str, Form(alias="list", max_length=200)],
    q: Annotated[str, Form(max_length=200)] = "",
    user: User = Depends(require("viewer")),
) -> Response:
    """The same page with the records of one list whose names match a search (sent by POST, so
    that no name appears in a URL, a server log or the browser history)."""
    return _item_page(request, item, search_list, q, user)
