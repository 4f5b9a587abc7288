"""/guide: the docs served by the API, with the anchors the dashboard links to."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.dashboard_state import SETUP_DOCS
from services.api.guide import DOCS_DIR, guide_router, render_markdown, slug


@pytest.fixture
def client():
    app = FastAPI()
    app.include_router(guide_router())
    return TestClient(app)


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Configuration (`bic-gateway:` in `config/canbridge.yaml`)", None),
        ("SocketCAN host set-up", "socketcan-host-set-up"),
        ("PATCH /config/controller", "patch-configcontroller"),
    ],
)
def test_slugs_are_githubs(heading, anchor):
    expected = anchor or "configuration-bic-gateway-in-configcanbridgeyaml"
    assert slug(heading.replace("`", "")) == expected


@pytest.mark.parametrize("target", sorted(SETUP_DOCS.values()))
def test_every_setup_link_of_the_dashboard_has_its_anchor(client, target):
    page, anchor = target.split("#")
    html = client.get(f"/guide/{page}").text
    assert f'id="{anchor}"' in html


def test_markdown_subset_is_escaped_and_repo_paths_are_not_links():
    html = render_markdown(
        "# A <b>title</b>\n- item `code`\n\n```\n<raw>\n```\n"
        "[api](api.md#history) [file](../services/x.py) [web](https://example.org)\n"
    )
    assert '<h1 id="a-btitleb">A &lt;b&gt;title&lt;/b&gt;</h1>' in html
    assert "<li>item <code>code</code></li>" in html
    assert "<pre>\n&lt;raw&gt;\n</pre>" in html
    assert '<a href="api.md#history">api</a>' in html
    assert '<a href="https://example.org">web</a>' in html
    assert "../services" not in html


@pytest.mark.parametrize("name", ["../README.md", "missing.md", "api.txt", ".hidden.md"])
def test_only_existing_docs_pages_are_served(client, name):
    assert client.get(f"/guide/{name}").status_code == 404


def test_every_docs_page_renders(client):
    for page in sorted(DOCS_DIR.glob("*.md")):
        answer = client.get(f"/guide/{page.name}")
        assert answer.status_code == 200
        assert re.search(r"<h1 id=", answer.text)
