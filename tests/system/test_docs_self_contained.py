"""The docs are self-contained: nothing cites research notes outside the repository, and every
`docs/<file>.md#<anchor>` that code cites (and every link between the markdown files) lands on a
heading that exists.

Anchors are computed the way GitHub renders them: heading text lower-cased, inline markup and
punctuation other than `-` and `_` dropped, spaces turned into `-`, a repeated heading numbered
`-1`, `-2`, ...
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THIS = Path(__file__).resolve()
SKIP_DIRS = {".git", ".venv", "node_modules", "test-output", "__pycache__", ".ruff_cache"}

#: what a citation of the research notes outside the repository looks like
OUTSIDE = re.compile(
    r"reference sections?\b|\.\./shared\b|/work/shared\b|"
    r"bic2200-protocol\.md|wican-and-vehicles\.md|charge-control-anchors\.md|"
    r"ecosystem-conventions\.md",
    re.IGNORECASE,
)
#: a repository doc cited from Python: docs/<file>.md, optionally with #<anchor>
CITATION = re.compile(r"\bdocs/([\w.-]+\.md)(?:#([\w-]+))?")
#: a markdown link target (inline links only; the repo uses no reference-style links)
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
FENCE = re.compile(r"^ {0,3}(```|~~~)")


def repo_files(suffix: str) -> list[Path]:
    files = []
    for path in ROOT.rglob(f"*{suffix}"):
        parts = path.relative_to(ROOT).parts
        if any(part in SKIP_DIRS for part in parts) or path.resolve() == THIS:
            continue
        files.append(path)
    return sorted(files)


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading (before duplicates are numbered)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images -> their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # punctuation, including ` * . : / ( ) §
    return text.replace(" ", "-")


def anchors_of(markdown: str) -> set[str]:
    """Every anchor a markdown text defines: its headings (outside code fences) and HTML ids."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    in_fence = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        match = HEADING.match(line)
        if match:
            base = github_anchor(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            anchors.add(base if count == 0 else f"{base}-{count}")
        anchors.update(HTML_ANCHOR.findall(line))
    return anchors


def outside_citations(text: str) -> list[str]:
    return [match.group(0) for match in OUTSIDE.finditer(text)]


def broken_citations(text: str, docs_dir: Path) -> list[str]:
    """`docs/...md#anchor` citations in `text` whose file or anchor does not exist."""
    problems = []
    for match in CITATION.finditer(text):
        name, anchor = match.groups()
        target = docs_dir / name
        if not target.is_file():
            problems.append(f"{match.group(0)}: no file docs/{name}")
        elif anchor and anchor not in anchors_of(target.read_text(encoding="utf-8")):
            problems.append(f"{match.group(0)}: no heading with anchor #{anchor}")
    return problems


def broken_links(path: Path) -> list[str]:
    """Relative links of a markdown file whose target file or anchor does not exist."""
    problems = []
    text = path.read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue  # http:, https:, mailto: ...
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            problems.append(f"{target}: no such file")
        elif (
            anchor
            and linked.suffix == ".md"
            and anchor not in anchors_of(linked.read_text(encoding="utf-8"))
        ):
            problems.append(f"{target}: no heading with anchor #{anchor}")
    return problems


# --- the checks themselves ------------------------------------------------------------------


def test_github_anchors_of_the_headings_the_code_cites():
    assert github_anchor("Timing") == "timing"
    assert github_anchor("FAULT_STATUS") == "fault_status"
    assert github_anchor("OPERATION and DIRECTION_CTRL") == "operation-and-direction_ctrl"
    assert github_anchor("The can/rx and can/tx payloads") == "the-canrx-and-cantx-payloads"
    assert github_anchor("Flow Control: block size and STmin") == (
        "flow-control-block-size-and-stmin"
    )
    assert github_anchor("Configuration (`bic-gateway:` in `config/canbridge.yaml`)") == (
        "configuration-bic-gateway-in-configcanbridgeyaml"
    )
    assert github_anchor("Topics (topic API v2)") == "topics-topic-api-v2"
    assert github_anchor("The adapter's own decoding (AutoPID)") == (
        "the-adapters-own-decoding-autopid"
    )


def test_repeated_headings_are_numbered_and_code_fences_are_not_headings():
    text = '# Top\n## Setup\n```sh\n# not a heading\n```\n### Setup\n<a id="custom"></a>\n'
    assert anchors_of(text) == {"top", "setup", "setup-1", "custom"}


def test_the_checks_catch_what_they_are_for(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text("# Guide\n## Timing\n", encoding="utf-8")
    assert broken_citations("see docs/guide.md#timing and docs/guide.md", docs) == []
    assert broken_citations("see docs/guide.md#pacing", docs) == [
        "docs/guide.md#pacing: no heading with anchor #pacing"
    ]
    assert broken_citations("see docs/missing.md#timing", docs) == [
        "docs/missing.md#timing: no file docs/missing.md"
    ]
    page = docs / "page.md"
    page.write_text("[a](guide.md#timing) [b](guide.md#nope) [c](#gone) [d](x.md)", "utf-8")
    assert broken_links(page) == [
        "guide.md#nope: no heading with anchor #nope",
        "#gone: no heading with anchor #gone",
        "x.md: no such file",
    ]
    assert outside_citations("as in Reference section 4.2 of the notes") == ["Reference section"]
    assert outside_citations("see ../shared/reference/bic2200-protocol.md") == [
        "../shared",
        "bic2200-protocol.md",
    ]


def test_no_file_cites_notes_outside_the_repository():
    found = {
        str(path.relative_to(ROOT)): hits
        for path in repo_files(".py") + repo_files(".md")
        if (hits := outside_citations(path.read_text(encoding="utf-8")))
    }
    assert found == {}, (
        "cite the repository's own docs (docs/<file>.md#<anchor>) instead of notes outside it"
    )


def test_every_doc_the_python_code_cites_exists_with_its_anchor():
    docs_dir = ROOT / "docs"
    found = {
        str(path.relative_to(ROOT)): problems
        for path in repo_files(".py")
        if (problems := broken_citations(path.read_text(encoding="utf-8"), docs_dir))
    }
    assert found == {}


def test_the_code_cites_the_protocol_docs():
    """The protocol facts are cited where they are used (guards against the docs drifting off)."""
    cited = {
        match.group(0)
        for path in repo_files(".py")
        for match in CITATION.finditer(path.read_text(encoding="utf-8"))
    }
    for expected in (
        "docs/protocol-bic2200.md#timing",
        "docs/protocol-bic2200.md#frame-layout",
        "docs/protocol-bic2200.md#scaling",
        "docs/protocol-bic2200.md#bit-fields",
        "docs/protocol-wican-isotp.md#byte-positions",
    ):
        assert expected in cited


def test_every_link_between_the_markdown_files_lands():
    found = {
        str(path.relative_to(ROOT)): problems
        for path in repo_files(".md")
        if (problems := broken_links(path))
    }
    assert found == {}
