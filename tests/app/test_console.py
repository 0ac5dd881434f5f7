"""The web console's build served at / by `hcp up`: the API and the docs always win, browsers
navigating to a console page get index.html, assets are cached for good and go out gzipped,
source maps and files outside the build never go out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from tests.conftest import running_app

from hcp.app import create_app
from hcp.core.settings import Settings

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
SCRIPT = "export const answer = 42;\n" * 100  # big enough to be worth compressing


@pytest.fixture
def build(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>HCP</title><div id=root></div>")
    (dist / "assets" / "index-Ab12Cd.js").write_text(SCRIPT)
    (dist / "assets" / "index-Ab12Cd.js.map").write_text("{}")
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("not for the web")
    return dist


@pytest.fixture
async def http(make_settings: Callable[..., Settings], build: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app(make_settings(server={"console_dir": str(build)}))) as client:
        yield client


async def test_the_landing_page_and_client_side_routes_get_index_html(http: httpx.AsyncClient) -> None:
    root = await http.get("/", headers=HTML)
    assert root.status_code == 200 and "<div id=root>" in root.text
    assert root.headers["content-type"].startswith("text/html") and root.headers["cache-control"] == "no-cache"
    page = await http.get("/app/workloads", params={"status": "running"}, headers=HTML)
    assert page.status_code == 200 and page.text == root.text


async def test_the_api_docs_and_probes_win_over_the_console(http: httpx.AsyncClient) -> None:
    unknown = await http.get("/api/v1/no-such-thing", headers=HTML)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert (await http.get("/health", headers=HTML)).json()["status"] == "ok"
    assert (await http.get("/docs", headers=HTML)).text.count("swagger") > 0
    assert (await http.get("/openapi.json")).json()["info"]["title"].startswith("HCP")
    assert (await http.get("/metrics")).headers["content-type"].startswith("text/plain")


async def test_a_request_that_is_not_a_navigation_gets_a_404_not_the_page(http: httpx.AsyncClient) -> None:
    fetch = await http.get("/app/workloads", headers={"accept": "application/json"})
    assert fetch.status_code == 404 and fetch.json()["error"]["code"] == "not_found"
    missing_asset = await http.get("/assets/index-Zz99.js", headers=HTML)
    assert missing_asset.status_code == 404
    posted = await http.post("/app/workloads", headers=HTML)
    assert posted.status_code in (404, 405) and "error" in posted.json()


async def test_hashed_assets_are_immutable_and_gzipped_for_clients_that_accept_it(http: httpx.AsyncClient) -> None:
    plain = await http.get("/assets/index-Ab12Cd.js", headers={"accept-encoding": "identity"})
    assert plain.status_code == 200 and plain.text == SCRIPT
    assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert plain.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
    assert "content-encoding" not in plain.headers
    packed = await http.get("/assets/index-Ab12Cd.js", headers={"accept-encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.text == SCRIPT  # httpx inflates it
    assert int(packed.headers["content-length"]) < len(SCRIPT) // 10
    again = await http.get("/assets/index-Ab12Cd.js", headers={"if-none-match": plain.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = await http.head("/assets/index-Ab12Cd.js", headers={"accept-encoding": "identity"})
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) == len(SCRIPT)


async def test_source_maps_and_files_outside_the_build_never_go_out(http: httpx.AsyncClient) -> None:
    assert (await http.get("/assets/index-Ab12Cd.js.map")).status_code == 404
    for sneaky in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt"):
        answer = await http.get(sneaky, headers={"accept": "*/*"})
        assert "not for the web" not in answer.text


async def test_without_a_build_the_root_leads_to_the_api_docs(make_settings: Callable[..., Settings],
                                                              tmp_path: Path) -> None:
    app = create_app(make_settings(server={"console_dir": str(tmp_path / "nothing-built")}))
    async with running_app(app) as http:
        root = await http.get("/", headers=HTML)
        assert root.status_code == 307 and root.headers["location"] == "/docs"
