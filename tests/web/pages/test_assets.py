"""The front-end bundles (issue 24): the modeler page names modeler.js by a URL carrying the hash of its content;
that URL is answered with a year's max-age, gzip-compressed to a browser that accepts gzip, the file as it is to
one that does not. The entries are ES modules importing chunks named by their content's hash (build.mjs's
meta.json): those are kept a year under their plain URLs, and a page that only views a diagram never loads the
editor's chunk. Needs the build (frontend/build.mjs, which writes the .gz copies; ./test runs it)."""
from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest

from tests.web.pages.conftest import BROWSER, sign_in, text

BUILD = Path(__file__).resolve().parents[3] / "app" / "web" / "static" / "build"
BUNDLE = BUILD / "modeler.js"


@pytest.fixture
def bundle_url(client):
    assert BUNDLE.is_file() and BUNDLE.with_name("modeler.js.gz").is_file(), "no build: node frontend/build.mjs"
    sign_in(client, "owner")
    page = client.get("/modeler/versions/1", headers=BROWSER)
    assert page.status_code == 200
    [url] = re.findall(r'<script type="module" src="(/static/build/modeler\.js\?v=[0-9a-f]+)"', text(page))
    assert url.endswith("?v=" + hashlib.sha256(BUNDLE.read_bytes()).hexdigest()[:16])  # the content's hash
    return url


def _max_age(response) -> int:
    return int(re.search(r"max-age=(\d+)", response.headers["Cache-Control"])[1])


def test_the_hashed_bundle_is_sent_gzip_compressed_to_a_browser_that_accepts_it(client, bundle_url):
    response = client.get(bundle_url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.mimetype == "text/javascript"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert _max_age(response) >= 365 * 24 * 3600 and "immutable" in response.headers["Cache-Control"]
    body = response.get_data()
    assert len(body) < BUNDLE.stat().st_size / 2 and gzip.decompress(body) == BUNDLE.read_bytes()
    response.close()


def test_without_gzip_the_bundle_comes_as_it_is(client, bundle_url):
    response = client.get(bundle_url, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert "Accept-Encoding" in response.headers["Vary"]
    assert _max_age(response) >= 365 * 24 * 3600
    assert response.get_data() == BUNDLE.read_bytes()
    response.close()


def test_an_other_version_of_the_url_is_not_kept_long(client, bundle_url):
    """A page from before a rebuild asks with the old hash: it gets today's file, revalidated, not a year's."""
    response = client.get(bundle_url.split("?")[0] + "?v=0123456789abcdef", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert "max-age=31536000" not in response.headers.get("Cache-Control", "")
    response.close()


def _chunks(entry: str) -> set[str]:
    """The chunks an entry imports, directly or not, as build.mjs's metafile lists them."""
    outputs = json.loads((BUILD / "meta.json").read_text())["outputs"]
    found, pending = set(), list(outputs[entry]["imports"])
    while pending:
        chunk = pending.pop()
        found.add(chunk)
        pending += outputs[chunk]["imports"]
    return found


def test_the_entries_share_chunks_and_the_diagram_page_loads_no_editor(client, driver):
    modeler, diagram = _chunks("modeler.js"), _chunks("diagram.js")
    assert diagram and diagram < modeler  # the viewer's chunk is the modeler's too; the editor's is not the viewer's
    editor = max(modeler - diagram, key=lambda chunk: (BUILD / chunk).stat().st_size)
    assert (BUILD / editor).stat().st_size > 10 * (BUILD / "modeler.js").stat().st_size  # npm code, not ours
    cid = driver.register(1)
    sign_in(client, "coordinator")
    page = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert re.search(r'<script type="module" src="/static/build/diagram\.js\?v=[0-9a-f]+"', page)
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/static/build/([^"]+)"', page))
    assert preloaded == diagram and editor not in page


def test_a_chunk_is_kept_a_year_under_the_url_the_entry_imports_it_by(client, bundle_url):
    page = text(client.get("/modeler/versions/1", headers=BROWSER))
    preloaded = re.findall(r'<link rel="modulepreload" href="(/static/build/chunks/chunk-[^"]+\.js)"', page)
    assert {url.removeprefix("/static/build/") for url in preloaded} == _chunks("modeler.js")
    entry = BUNDLE.read_text()
    for url in preloaded:
        chunk = BUILD / url.removeprefix("/static/build/")
        assert chunk.name in entry or any(chunk.name in (BUILD / c).read_text() for c in _chunks("modeler.js"))
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
        assert _max_age(response) >= 365 * 24 * 3600 and "immutable" in response.headers["Cache-Control"]
        assert gzip.decompress(response.get_data()) == chunk.read_bytes()
        response.close()
    # An entry's plain URL (no hash of its content) is not: its name stays the same from build to build.
    response = client.get("/static/build/modeler.js")
    assert "max-age=31536000" not in response.headers.get("Cache-Control", "")
    response.close()
