"""The fake API server: routes by prefix, records requests, serves injected faults first."""

import requests

from orchestration.demo.server import FakeApiServer, FakeResponse


def test_routes_faults_and_recording() -> None:
    with FakeApiServer() as server:
        server.route("GET", "/v1/items", lambda request: FakeResponse(200, {"page": request.param("page", "1")}))
        server.inject("/v1/items", FakeResponse(429, {"error": "slow down"}, {"Retry-After": "1"}), FakeResponse(503))

        first = requests.get(f"{server.base_url}/v1/items", timeout=5)
        second = requests.get(f"{server.base_url}/v1/items", timeout=5)
        third = requests.get(f"{server.base_url}/v1/items?page=2", timeout=5, headers={"x-api-key": "k"})
        missing = requests.get(f"{server.base_url}/nowhere", timeout=5)

    assert (first.status_code, first.headers["Retry-After"]) == (429, "1")
    assert second.status_code == 503
    assert third.json() == {"page": "2"}
    assert missing.status_code == 404
    assert [r.param("page") for r in server.requests_to("/v1/items")] == [None, None, "2"]
    assert server.requests_to("/v1/items")[2].headers["x-api-key"] == "k"
