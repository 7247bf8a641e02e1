"""Many requests at once: the app's case lock keeps DuckDB connections from colliding."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from .conftest import PASSWORD, LiveServer, csrf_from


def test_parallel_reads_and_decisions(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=30) as client:
        token = csrf_from(client.get("/login").text)
        client.post("/login", data={"username": "rita", "password": PASSWORD, "csrf_token": token})
        token = csrf_from(client.get("/register").text)

        def hit(i: int) -> int:
            if i % 4 == 0:
                data = {"record_id_l": "7", "record_id_r": "8", "decision": "skip", "csrf_token": token}
                return client.post("/review/decide", data=data).status_code
            path = ("/register", "/review", "/person/P000000005")[i % 3]
            return client.get(path).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(hit, range(12)))
    assert codes.count(303) == 3
    assert codes.count(200) == 9
    skips = live_server.read(lambda case: case.query("SELECT count(*) AS n FROM uc_decisions WHERE decision = 'skip'"))
    assert int(skips["n"].iloc[0]) == 3
