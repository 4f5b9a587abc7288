"""shared.yaml_text: libyaml's speed, the pure-Python parser's answers and error messages."""

from __future__ import annotations

import pytest
import yaml
from harness import PROJECT

from shared.yaml_text import load_yaml

SHIPPED = sorted(
    [
        *(PROJECT / "config").glob("*.yaml"),
        *(PROJECT / "services" / "wican_soc" / "profiles").glob("*.yaml"),
    ]
)


def test_the_fast_parser_is_libyaml_here():
    # the wheels pinned in constraints.txt carry libyaml; without it load_yaml stays correct
    # but loses its point
    assert yaml.__with_libyaml__


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_document_reads_as_safe_load_reads_it(path):
    text = path.read_text(encoding="utf-8")
    assert load_yaml(text) == yaml.safe_load(text)


def test_scalars_resolve_as_in_yaml_1_1():
    text = "a: 1.0\nb: yes\nc: 0x1F\nd: ~\ne: '007'\nf: 2026-12-02\n"
    assert load_yaml(text) == yaml.safe_load(text)


def test_a_broken_document_is_refused_quoting_the_line_with_a_caret():
    with pytest.raises(yaml.YAMLError) as info:
        load_yaml("units: [0, 1\nmeter: x\n")
    message = str(info.value)
    assert "line 1, column 8" in message
    assert "units: [0, 1\n" in message and "^" in message


def test_tags_that_build_objects_are_refused():
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system ['true']")
