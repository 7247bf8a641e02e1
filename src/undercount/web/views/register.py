"""The register: persons, search by name or ID (POST, so no name reaches a log), one person."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import Response

from undercount.review import MAX_QUERY
from undercount.web.auth import User
from undercount.web.records import field_rows
from undercount.web.views import (
    MAX_PAGE,
    PageNumber,
    app_data,
    check_page,
    render,
    require,
)

__all__ = ["router"]

router = APIRouter()


@router.get("/register")
def register(request: Request, page: PageNumber = 1, user: User = Depends(require("viewer"))) -> Response:
    """Every person of the current clusters, a page at a time."""
    data = app_data(request)
    persons = check_page(data.persons(page=page))
    return render(request, "register.html", {"persons": persons, "query": "", "stale": data.stale_warnings()})


@router.post("/register")
def search(
    request: Request,
    q: Annotated[str, Form(max_length=4 * MAX_QUERY)] = "",
    page: Annotated[int, Form(ge=1, le=MAX_PAGE)] = 1,
    user: User = Depends(require("viewer")),
) -> Response:
    """Persons with a record matching a name (Arabic or Latin) or an ID number."""
    persons = check_page(app_data(request).persons(page=page, query=q))
    return render(request, "register.html", {"persons": persons, "query": q})


@router.get("/person/{person_id}")
def person(
    request: Request, person_id: Annotated[str, Path(max_length=64)], user: User = Depends(require("viewer"))
) -> Response:
    """A person's records side by side, with the link evidence of the pairs among them."""
    found = app_data(request).person(person_id)
    if found is None:
        raise HTTPException(status_code=404, detail="No person with that id in the current clusters.")
    comparisons: list[str] = []
    for pair in found["pairs"]:
        pair["evidence_by_name"] = {e["name"]: e for e in pair["evidence"]}
        comparisons += [e["name"] for e in pair["evidence"] if e["name"] not in comparisons]
    return render(
        request, "person.html", {**found, "rows": field_rows(found["records"]), "comparisons": comparisons}
    )
