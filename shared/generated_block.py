"""A generated block inside a Markdown document, between two marker comments.

The README's topic table (``shared.contract.table``) and the vehicle tables
(``services.wican_soc.vehicle_table``) are generated; a test compares each block with a fresh
rendering, and ``--write`` replaces it.
"""

from __future__ import annotations


def replace_block(document: str, start: str, end: str, body: str) -> str:
    """`document` with the text between the markers `start` and `end` replaced by `body`."""
    try:
        head, rest = document.split(start, 1)
        _old, tail = rest.split(end, 1)
    except ValueError:
        raise ValueError(f"the document needs the markers {start!r} and {end!r}") from None
    return f"{head}{start}\n{body}\n{end}{tail}"
