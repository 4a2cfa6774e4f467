"""The speed paths give exactly what the general paths give.

- split_words reads a single-spaced line (what iptables-save writes) by lengths instead of
  searching; a line with any other spacing takes the general path, which the same line
  with one trailing tab forces.
- model values are built by generated __init__s (fwlint.model._fast_init): same
  signature, defaults, equality and immutability as the dataclass ones.
"""

from __future__ import annotations

import dataclasses
import gc
import inspect

import pytest
from hypothesis import given, strategies as st

from fwlint import model
from fwlint.parsing import parse_text
from fwlint.parsing.iptables import WordError, split_words

_PIECES = st.sampled_from(['-A', 'INPUT', '-m', 'comment', '--comment', '"a', 'b"', '"x y"',
                           '"', '\\"', 'q\\"', '"\\"', '-j', 'ACCEPT', '""', 'é', '10.0.0.1'])


def _split(text: str):
    try:
        return split_words(text, 7, 3)
    except WordError as exc:
        return ("error", exc.column, str(exc))


@given(st.lists(_PIECES, min_size=1, max_size=12))
def test_single_spaced_lines_split_as_the_general_path_splits_them(pieces):
    line = " ".join(pieces)
    general = _split(line + "\t")
    if isinstance(general, list) and general:
        last = general[-1]
        assert last.end_column == len(line) + 2  # the tab is not part of the last word
    assert _split(line) == general


def test_single_spaced_columns_point_at_the_words():
    line = '-A INPUT -m comment --comment "two words" -j ACCEPT'
    for word in split_words(line, 1, 1):
        assert line[word.column - 1:word.end_column] == word.raw


@pytest.mark.parametrize("cls", [model.Span, model.PortMatch, model.AddressMatch, model.Rule,
                                 model.Chain, model.Table, model.Ruleset, model.ParseError])
def test_generated_init_keeps_the_dataclass_signature(cls):
    params = inspect.signature(cls).parameters
    fields = dataclasses.fields(cls)
    assert list(params) == [f.name for f in fields]
    for f in fields:
        expected = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        assert params[f.name].default == expected


def test_generated_init_keeps_equality_and_immutability():
    span = model.Span("f", 1, 2, 1, 9)
    rule = model.Rule((model.PortMatch("dport", ((22, 22),), span=span),), text="a",
                      span=span)
    same = model.Rule(matches=(model.PortMatch("dport", ((22, 22),)),), text="b")
    assert rule == same and hash(rule) == hash(same)
    assert rule.statements == () and rule.verdict is None and rule.counters is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.text = "c"
    with pytest.raises(TypeError):
        model.Span("f", 1)


def test_parsing_leaves_the_collector_as_it_found_it():
    text = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"
    gc.disable()
    try:
        parse_text(text, "f.rules", "iptables-save")
        assert not gc.isenabled()
    finally:
        gc.enable()
    parse_text(text, "f.rules", "iptables-save")
    assert gc.isenabled()


def test_packed_spans_read_back_as_spans_and_survive_copies():
    """A front end may store a span packed (model.packed_line); reading it gives the Span,
    once, and copies, pickles and equality behave as with a Span stored directly."""
    import pickle

    packed = model.packed_line("f.rules", 70000) | 5 << 20 | 17
    match = model.PortMatch("dport", ((22, 22),), raw=("22",))
    model.SPAN_SLOTS[model.PortMatch].__set__(match, packed)
    assert match.span == model.Span("f.rules", 70000, 5, 70000, 17)
    assert match.span is match.span
    model.SPAN_SLOTS[model.PortMatch].__set__(match, packed)
    copied = pickle.loads(pickle.dumps(match))
    assert copied == match and copied.span == match.span
    assert dataclasses.replace(match, negated=True).span == match.span
    assert match == model.PortMatch("dport", ((22, 22),)) and "span" not in repr(match)
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.span = model.NO_SPAN
    largest = model.MAX_PACKED_COLUMN
    packed = model.packed_line("g.rules", 1) | largest << 20 | largest
    assert model.unpack_span(packed) == model.Span("g.rules", 1, largest, 1, largest)
