"""Incidents against a known truth (a simulated case): deduplication and victim assignment.

It lives on the link floor because it scores with link's cluster measures; the incidents package
itself sits below simulate (which draws incidents from its vocabulary and places).

* Deduplication: pairwise and B-cubed precision, recall and F1 of the current run's clusters of
  reports against ``truth_incident_reports.csv`` (file, row, incident_id), scored by
  :func:`undercount.link.evaluate.score_clusters`.
* Assignment: for every record of a victim list (``truth.csv``: list, row, person_id), the
  incident its person was linked to is mapped to the true incident most of its reports belong
  to, and compared with the true incident of the record's true person
  (``truth_population.csv``'s ``incident_id``), counted only when some report describes it
  (otherwise the right answer is "no incident"). Accuracy is the share of records right (linked to
  the right incident, or left unlinked when they should be); precision the share of linked
  records linked right; recall the share of records with a reported incident linked right.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from undercount.errors import InputError, LinkError, StoreError
from undercount.incidents.dedupe import current_dedupe_run
from undercount.link.evaluate import EvaluationResult, read_truth, score_clusters

if TYPE_CHECKING:
    from undercount.store import Case

__all__ = ["AssignmentScore", "assignment_table", "evaluate_dedupe", "evaluate_assignment"]


def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the truth file: {type(exc).__name__}", file=path.name) from None
    for col in columns:
        if col not in table.columns:
            raise InputError(f"the truth file needs columns {','.join(columns)}", file=path.name, column=col)
    return table


def evaluate_dedupe(case: Case, truth_csv: str | Path) -> EvaluationResult:
    """Score the current deduplication against a truth file (file,row,incident_id).

    Raises:
        StoreError: no deduplication run. InputError: unreadable truth. LinkError: no report in the truth.
    """
    run = current_dedupe_run(case)
    if run is None:
        raise StoreError(f"{case.path} has no deduplicated incidents: run 'undercount incidents dedupe'")
    truth = _read(Path(truth_csv), ("file", "row", "incident_id"))
    truth["row"] = pd.to_numeric(truth["row"], errors="coerce")
    clusters = case.query("SELECT r.file, r.\"row\", c.incident_id FROM uc_incident_clusters c "
                          "JOIN uc_incident_reports r USING (report_id) WHERE c.run_id = ?", [run])
    merged = clusters.merge(truth, on=["file", "row"], suffixes=("", "_true"))
    if merged.empty:
        raise LinkError(f"no incident report of {case.path} is in {Path(truth_csv).name}: check the file names")
    return score_clusters(merged["incident_id"], merged["incident_id_true"])


@dataclass(frozen=True)
class AssignmentScore:
    """Victim-to-incident links against the truth, over the records of the victim lists.

    Attributes:
        records: records scored; with_incident: records whose true person died in a reported incident.
        linked: records whose person was linked; correct_links: linked to the right incident.
        accuracy, precision, recall: as in the module's docstring.
        wrong_incident: linked to another incident; wrongly_linked: linked though no reported incident is theirs;
        missed: not linked though their incident was reported.
    """

    records: int
    with_incident: int
    linked: int
    correct_links: int
    accuracy: float
    precision: float
    recall: float
    wrong_incident: int
    wrongly_linked: int
    missed: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def assignment_table(case: Case, sim_dir: str | Path) -> tuple[pd.DataFrame, pd.Series]:
    """Per record of the victim lists, its link to an incident beside the simulated truth.

    Args:
        case: the case, linked, deduplicated and assigned.
        sim_dir: the folder ``undercount simulate --incidents`` wrote.

    Returns:
        The records (``source``, ``row``, ``person_id``, ``true_person``; ``incident_id`` and
        ``method`` of their person's link, null when unlinked; ``true_incident``; ``expected``: the
        true incident when some report holds it, else null; ``got``: the true incident the linked
        found incident stands for) and that mapping (found incident -> the true incident most of
        its reports belong to).

    Raises:
        StoreError: nothing assigned yet. InputError: a truth file is missing or unreadable.
    """
    from undercount.incidents.assign import person_incidents

    folder = Path(sim_dir)
    links = person_incidents(case)
    if links.empty and case.current_run("incident-assign") is None:
        raise StoreError(f"{case.path}: victims are not linked to incidents yet: run 'undercount incidents assign'")
    run = current_dedupe_run(case)
    records = read_truth(folder / "truth.csv").rename(columns={"list": "source", "person_id": "true_person"})
    population = _read(folder / "truth_population.csv", ("person_id", "incident_id"))
    reports = _read(folder / "truth_incident_reports.csv", ("file", "row", "incident_id"))
    reports["row"] = pd.to_numeric(reports["row"], errors="coerce")
    clusters = case.query("SELECT r.file, r.\"row\", c.incident_id FROM uc_incident_clusters c "
                          "JOIN uc_incident_reports r USING (report_id) WHERE c.run_id = ?", [run])
    mapped = clusters.merge(reports, on=["file", "row"], suffixes=("", "_true"))
    majority = (mapped.groupby(["incident_id", "incident_id_true"]).size().rename("n").reset_index()
                .sort_values(["incident_id", "n", "incident_id_true"], ascending=[True, False, True])
                .drop_duplicates("incident_id").set_index("incident_id")["incident_id_true"])
    reported = set(reports["incident_id"])
    case_records = case.clusters()[["source", "row", "person_id"]]
    table = case_records.merge(records, on=["source", "row"], how="inner")
    table = table.merge(links[["person_id", "incident_id", "method"]], on="person_id", how="left")
    true_of = population.set_index("person_id")["incident_id"].replace("", None)
    table["true_incident"] = table["true_person"].map(true_of)
    table["expected"] = table["true_incident"].where(table["true_incident"].isin(reported))
    table["got"] = table["incident_id"].map(majority)
    return table, majority


def evaluate_assignment(case: Case, sim_dir: str | Path) -> AssignmentScore:
    """Score the newest victim-to-incident run against a simulated case's truth.

    Args:
        case: the case, linked, deduplicated and assigned.
        sim_dir: the folder ``undercount simulate --incidents`` wrote.

    Raises:
        StoreError: nothing assigned yet. InputError: a truth file is missing or unreadable.
    """
    table, _ = assignment_table(case, sim_dir)
    linked = table["incident_id"].notna()
    has = table["expected"].notna()
    correct = linked & has & (table["got"] == table["expected"])
    right = correct | (~linked & ~has)
    n = len(table)
    return AssignmentScore(
        records=n, with_incident=int(has.sum()), linked=int(linked.sum()), correct_links=int(correct.sum()),
        accuracy=round(float(right.mean()) if n else 1.0, 6),
        precision=round(float(correct.sum() / linked.sum()) if linked.any() else 1.0, 6),
        recall=round(float(correct.sum() / has.sum()) if has.any() else 1.0, 6),
        wrong_incident=int((linked & has & ~correct).sum()), wrongly_linked=int((linked & ~has).sum()),
        missed=int((~linked & has).sum()),
    )
