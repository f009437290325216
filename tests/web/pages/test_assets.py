"""The front-end bundles (issue 24): the modeler page names modeler.js by a URL carrying the hash of its content;
that URL is answered with a year's max-age, gzip-compressed to a browser that accepts gzip, the file as it is to
one that does not. Needs the build (frontend/build.mjs, which writes the .gz copies; ./test runs it)."""
from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest

from tests.web.pages.conftest import BROWSER, sign_in, text

BUNDLE = Path(__file__).resolve().parents[3] / "app" / "web" / "static" / "build" / "modeler.js"


@pytest.fixture
def bundle_url(client):
    assert BUNDLE.is_file() and BUNDLE.with_name("modeler.js.gz").is_file(), "no build: node frontend/build.mjs"
    sign_in(client, "owner")
    page = client.get("/modeler/versions/1", headers=BROWSER)
    assert page.status_code == 200
    [url] = re.findall(r'<script src="(/static/build/modeler\.js\?v=[0-9a-f]+)"', text(page))
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
