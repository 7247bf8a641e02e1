"""The admin's "re-estimate" in the app: a background run, one at a time, with its steps, audited,
CSRF-protected, admins only; afterwards the estimate is no longer stale."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

from fastapi.testclient import TestClient

from undercount.review import case_status
from undercount.store import Case
from undercount.web import add_user, create_app
from undercount.web.jobs import EstimateJob

FIXTURE = Path(__file__).parents[1] / "store" / "fixtures" / "case_v1.tar.gz"
PASSWORD = "a long passphrase 1"


def _client(app: object, name: str) -> tuple[TestClient, str]:
    client = TestClient(app, follow_redirects=False, base_url="http://127.0.0.1")  # type: ignore[arg-type]
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    assert client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token}).status_code == 303
    page = client.get("/register").text
    return client, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_an_admin_re_estimates_in_the_background(tmp_path: Path) -> None:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    case = Case.open(tmp_path / "case")
    add_user(case, "ada", "admin", PASSWORD, written_by="test")
    add_user(case, "rita", "reviewer", PASSWORD, written_by="test")
    app = create_app(case.path)
    data = app.state.data
    data.estimate_job = EstimateJob(data.case, data.lock, link_draws=3, imputations=1, models=False, method="loglinear", by="none")
    before = int(case.query("SELECT count(*) AS n FROM uc_runs WHERE kind = 'estimate'")["n"].iloc[0])
    reviewer, token = _client(app, "rita")
    assert reviewer.get("/admin/estimate").status_code == 403
    assert reviewer.post("/admin/estimate", data={"csrf_token": token}).status_code == 403
    admin, token = _client(app, "ada")
    assert admin.post("/admin/estimate", data={}).status_code == 403  # no CSRF token
    assert data.estimate_job.state.state == "idle"
    page = admin.get("/admin/estimate").text
    assert 'id="estimate-form"' in page and 'data-state="idle"' in page
    assert admin.post("/admin/estimate", data={"csrf_token": token}).status_code == 303
    assert data.estimate_job.start("ada") is False or data.estimate_job.state.state != "running"  # one at a time
    running = admin.get("/admin/estimate").text  # pages answer while it runs
    assert 'id="job"' in running
    state = data.estimate_job.wait(300)
    assert state.state == "done", state.message
    assert "killed: best linkage: strata" in state.history and "killed: 3 linkage draws: strata" in state.history
    assert state.done == state.total and state.batch
    after = case.query("SELECT json_extract_string(params, '$.batch') AS batch FROM uc_runs WHERE kind = 'estimate'")
    assert len(after) > before and set(after["batch"].iloc[before:]) == {state.batch}  # one run per population
    assert case_status(case).stage("estimate").state == "current"
    events = case.query("SELECT username, detail FROM uc_audit WHERE action = 're-estimate' ORDER BY event_id")
    assert events["username"].tolist() == ["ada", "ada"]
    assert '"started"' in events["detail"].iloc[0] and '"done"' in events["detail"].iloc[1]
    done = admin.get("/admin/estimate").text
    assert 'data-state="done"' in done and "Killed: estimate" in done and 'id="estimate-form"' in done
