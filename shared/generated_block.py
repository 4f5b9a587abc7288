"""A generated block inside Markdown documents, between two marker comments.

The topic tables of the README and the service docs (``shared.contract.table``) and the vehicle
tables (``services.wican_soc.vehicle_table``) are generated; a test compares each block with a
fresh rendering, and ``--write`` replaces them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path


def replace_block(document: str, start: str, end: str, body: str) -> str:
    """`document` with the text between the markers `start` and `end` replaced by `body`."""
    try:
        head, rest = document.split(start, 1)
        _old, tail = rest.split(end, 1)
    except ValueError:
        raise ValueError(f"the document needs the markers {start!r} and {end!r}") from None
    return f"{head}{start}\n{body}\n{end}{tail}"


def block_cli(
    prog: str, blocks: Mapping[str, Callable[[], str]], start: str, end: str, argv: list[str]
) -> int:
    """The command line of a generated block: `blocks` maps each Markdown file that holds it
    (a path from the repository root) to its rendering. Prints the block of FILE (default: the
    first file); ``--write`` replaces the block in every file, ``--write FILE ...`` in those."""
    files = list(blocks)
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("file", nargs="?", default=files[0], help=f"one of {', '.join(files)}")
    parser.add_argument("--write", nargs="*", metavar="FILE", help="update these files (all)")
    args = parser.parse_args(argv)
    wanted = [args.file] if args.write is None else args.write or files
    unknown = [name for name in wanted if name not in blocks]
    if unknown:
        parser.error(f"no generated block in {', '.join(unknown)} (known: {', '.join(files)})")
    if args.write is None:
        print(blocks[args.file]())
        return 0
    for name in wanted:
        path = Path(name)
        path.write_text(replace_block(path.read_text(), start, end, blocks[name]()))
    return 0
