"""`/guide/<page>.md`: the repo's docs/ served by the API, so the dashboard links work offline.

A small Markdown subset (headings with GitHub's anchors, code blocks, lists, tables as text,
inline code and links) is enough for these pages; anything else shows as its text.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
PAGE = re.compile(r"^[a-z0-9][a-z0-9_-]*\.md$")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _inline(text: str) -> str:
    out = escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)

    def link(m: re.Match) -> str:
        target = m.group(2)
        if not re.match(r"^(https?://|#|[a-z0-9_-]+\.md(#[\w-]*)?$)", target):
            return m.group(1)  # a repo path: only the text, the page cannot open it
        return f'<a href="{target}">{m.group(1)}</a>'

    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", link, out)


def render_markdown(text: str) -> str:
    html: list[str] = []
    in_code = False
    in_list = False
    for line in text.splitlines():
        if line.startswith("```"):
            html.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
            continue
        if in_code:
            html.append(escape(line))
            continue
        item = re.match(r"^\s*[-*] (.*)", line)
        if in_list and not item:
            html.append("</ul>")
            in_list = False
        heading = re.match(r"^(#{1,6}) (.*)", line)
        if heading:
            level, title = len(heading.group(1)), heading.group(2)
            html.append(
                f'<h{level} id="{slug(title.replace("`", ""))}">{_inline(title)}</h{level}>'
            )
        elif item:
            if not in_list:
                html.append("<ul>")
                in_list = True
            html.append(f"<li>{_inline(item.group(1))}</li>")
        elif line.startswith("|"):
            html.append(f'<pre class="table">{escape(line)}</pre>')
        elif line.strip():
            html.append(f"<p>{_inline(line)}</p>")
    if in_code:
        html.append("</pre>")
    if in_list:
        html.append("</ul>")
    return "\n".join(html)


def page(name: str, body: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>{escape(name)} · canbridge</title>
<style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:1rem auto;padding:0 1rem;
line-height:1.45}}pre{{overflow-x:auto;background:#8881;padding:.5rem}}pre.table{{margin:0;
padding:0 .5rem}}code{{background:#8882;padding:0 .2rem}}</style></head>
<body><p><a href="/">← dashboard</a></p>{body}</body></html>"""


def guide_router(docs_dir: Path = DOCS_DIR) -> APIRouter:
    router = APIRouter(tags=["dashboard"])

    @router.get("/guide/{name}", response_class=HTMLResponse, summary="A page of the docs")
    def guide(name: str) -> HTMLResponse:
        path = docs_dir / name
        if not PAGE.match(name) or not path.is_file():
            raise HTTPException(404, f"no such page: {name}")
        return HTMLResponse(page(name, render_markdown(path.read_text())))

    return router
