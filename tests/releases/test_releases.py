"""Releases of one list: import in order, the diff against a known truth, stored runs, CLI, exports."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.errors import ConfigError
from undercount.ingest import import_list
from undercount.releases import diff_releases
from undercount.releases.evaluate import score_diff
from undercount.simulate.releases import ReleaseSeries
from undercount.store import Case
from undercount.store.releases import choose_releases, list_releases, release_table


def _files(series: ReleaseSeries, case: Case) -> dict[str, str]:
    """Release source name in the case -> release name in the truth."""
    return {rel.source: name for rel, name in zip(list_releases(case, "moh"), series.files)}


def test_releases_are_kept_in_order_and_one_per_list_is_used(series_case: Case, release_series: ReleaseSeries) -> None:
    rels = list_releases(series_case, "moh")
    assert [r.position for r in rels] == [1, 2, 3]
    assert [r.released for r in rels] == [day for _, day in release_series.files.values()]
    assert rels[0].source == "moh" and rels[1].source == f"moh@{rels[1].released.isoformat()}"
    assert rels[0].top_line == len(release_series.truth) // 2 and rels[1].top_line is None
    assert [r.rows for r in rels] == [int(n) for n in release_series.truth.groupby("release", sort=False).size()]
    choice = choose_releases(series_case)
    assert choice.sources == (rels[-1].source,)  # never two releases of one list as two lists
    assert set(choice.left_out) == {rels[0].source, rels[1].source}
    assert choose_releases(series_case, None, ["moh=" + rels[0].released.isoformat()]).sources == ("moh",)
    assert "is linked (the newest of its 3 releases)" in choice.notes("linked")[0]


def test_a_bad_release_is_refused_and_nothing_is_stored(series_case: Case, release_series: ReleaseSeries,
                                                         tmp_path: Path) -> None:
    first, day = next(iter(release_series.files.values()))
    other = tmp_path / "other.csv"
    other.write_text(first.read_text(encoding="utf-8").replace("killed", "missing", 1), encoding="utf-8")
    before = len(release_table(series_case))
    with pytest.raises(ConfigError, match="no list or release named 'nope'"):
        import_list(series_case, other, release_of="nope", released="2025-01-01")
    with pytest.raises(ConfigError, match="needs its date"):
        import_list(series_case, other, release_of="moh")
    with pytest.raises(ConfigError, match=f"already has a release dated {day.isoformat()}"):
        import_list(series_case, other, release_of="moh", released=day)
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        import_list(series_case, other, release_of="moh", released="20/06/2024")
    with pytest.raises(ConfigError, match="--release-of moh"):
        import_list(series_case, other, name="moh")
    assert len(release_table(series_case)) == before


def test_the_diff_finds_every_class_and_adds_up(series_case: Case, release_series: ReleaseSeries) -> None:
    second = list_releases(series_case, "moh")[1].source
    result = diff_releases(series_case, "moh", before="moh", after=second, again=True)
    counts = result.counts()
    assert counts["earlier"].sum() == result.before.rows and counts["later"].sum() == result.after.rows
    score = score_diff(series_case, result, release_series.truth, _files(release_series, series_case))
    print(score)
    assert set(score.index) >= {"unchanged", "corrected", "status_moved", "added", "removed", "duplicate_resolved",
                                "duplicate_added"}
    assert (score["precision"] >= 0.9).all() and (score["recall"] >= 0.9).all(), score
    changes = result.field_changes()
    assert 0 < changes["name"]["spelling_only"] < changes["name"]["changed"]  # typing errors are not spelling
    assert sum(v for k, v in changes["age"].items() if k.startswith("by ")) == changes["age"]["changed"]
    assert "missing -> killed" in result.status_moves()
    profile = result.profiles["before"]
    assert profile["top_line"] == len(release_series.truth) // 2
    assert profile["gap"] == profile["top_line"] - profile["rows"]
    truth = release_series.truth
    copies = int(truth.loc[truth["release"] == next(iter(release_series.files)), "copy"].sum())
    assert abs(profile["duplicates"] - copies) <= max(2, copies // 10)


def test_the_diff_is_stored_and_read_back_the_same(series_case: Case) -> None:
    first = diff_releases(series_case, "moh")
    again = diff_releases(series_case, "moh")
    assert again.reused and again.run_id == first.run_id
    pd.testing.assert_frame_equal(first.counts(), again.counts())
    assert first.to_dict()["records"] == again.to_dict()["records"]


def test_cli_diff_prints_counts_without_names_and_exports_redacted(series_case: Case, release_series: ReleaseSeries,
                                                                  tmp_path: Path) -> None:
    runner = CliRunner()
    names = set(pd.read_csv(next(iter(release_series.files.values()))[0])["name"])
    out = runner.invoke(app, ["diff", str(series_case.path), "moh", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["totals"]["later"] == list_releases(series_case, "moh")[-1].rows
    text = runner.invoke(app, ["diff", str(series_case.path), "moh", "--show", "removed",
                               "--export", str(tmp_path / "d.csv")])
    assert text.exit_code == 0, text.output
    assert "removed" in text.output and "redacted" in text.output
    exported = (tmp_path / "d.csv").read_text(encoding="utf-8-sig")
    assert not any(n in exported or n in out.output or n in text.output for n in names)
    assert "age_from" in exported and "name_from" not in exported
    personal = runner.invoke(app, ["diff", str(series_case.path), "moh", "--export", str(tmp_path / "p.csv"),
                                   "--personal-data"])
    assert personal.exit_code == 0, personal.output
    assert any(n in (tmp_path / "p.csv").read_text(encoding="utf-8-sig") for n in names)
    bad = runner.invoke(app, ["diff", str(series_case.path), "nope"])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    listed = runner.invoke(app, ["releases", str(series_case.path)])
    assert listed.exit_code == 0 and "moh 3/3" in listed.output and "(newest)" in listed.output


def test_the_report_shows_releases_top_lines_and_changes(series_case: Case, release_series: ReleaseSeries) -> None:
    from undercount.report.html import render_report

    diff_releases(series_case, "moh")  # stored (or read back): the report reads stored diffs only
    html, _ = render_report(series_case, redact=True)
    start = html.index('<section id="releases">')
    section = html[start:html.index("</section>", start)]
    rels = list_releases(series_case, "moh")
    assert all(r.source in section for r in rels)
    assert f"{rels[0].top_line:,}" in section and f"{rels[0].top_line - rels[0].rows:,}" in section  # top line, gap
    assert section.count("<img ") == 1 and "status moved" in section
    assert f"<th>{rels[1].source} → {rels[2].source}</th>" in section  # the stored diff's table
    from undercount.releases import diff_runs

    first_pair = ((diff_runs(series_case)["from_source"] == rels[0].source)
                  & (diff_runs(series_case)["to_source"] == rels[1].source)).any()
    assert (f"Not compared yet: {rels[0].source} → {rels[1].source}" in section) == (not first_pair)
    names = set(pd.read_csv(next(iter(release_series.files.values()))[0])["name"])
    assert not any(n in html for n in names)


def test_cli_imports_a_release_and_refuses_a_bad_one(release_series: ReleaseSeries, tmp_path: Path) -> None:
    runner = CliRunner()
    case_dir = tmp_path / "case"
    assert runner.invoke(app, ["init", str(case_dir)]).exit_code == 0
    (first, _), (second, day) = list(release_series.files.values())[:2]
    out = runner.invoke(app, ["import", str(case_dir), str(first), "--name", "moh", "--top-line", "999"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["import", str(case_dir), str(second), "--release-of", "moh"])
    assert out.exit_code == 1 and "needs its date" in out.output and "Traceback" not in out.output
    out = runner.invoke(app, ["import", str(case_dir), str(second), "--release-of", "moh", "--released",
                              day.isoformat(), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["name"] == f"moh@{day.isoformat()}" and data["release"]["list_name"] == "moh"
    listed = json.loads(runner.invoke(app, ["releases", str(case_dir), "--json"]).output)
    assert [(r["source"], r["position"], r["top_line"]) for r in listed] == [
        ("moh", 1, 999), (f"moh@{day.isoformat()}", 2, None)]
