"""A generated block inside a Markdown document, between two marker comments.

The README's topic table (``shared.contract.table``) and the vehicle tables
(``services.wican_soc.vehicle_table``) are generated; a test compares each block with a fresh
rendering, and ``--write`` replaces it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


def replace_block(document: str, start: str, end: str, body: str) -> str:
    """`document` with the text between the markers `start` and `end` replaced by `body`."""
    try:
        head, rest = document.split(start, 1)
        _old, tail = rest.split(end, 1)
    except ValueError:
        raise ValueError(f"the document needs the markers {start!r} and {end!r}") from None
    return f"{head}{start}\n{body}\n{end}{tail}"


def block_cli(prog: str, render: Callable[[], str], start: str, end: str, argv: list[str]) -> int:
    """The command line of a generated block: print ``render()``, or with ``--write FILE``
    replace the block between the markers in that Markdown file."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--write", type=Path, help="update the table in this Markdown file")
    args = parser.parse_args(argv)
    body = render()
    if args.write is None:
        print(body)
        return 0
    args.write.write_text(replace_block(args.write.read_text(), start, end, body))
    return 0
