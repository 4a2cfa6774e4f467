"""The set algebra of fwlint.analysis.space, against plain Python sets of points."""

from __future__ import annotations

import itertools
import random

import pytest

from fwlint.analysis import space
from fwlint.analysis.space import (BoxIndex, box_and, box_contains, box_sub, box_subset,
                                   box_volume, iv_and, iv_contains, iv_or, iv_sub, iv_subset,
                                   normalize, project, space_sub, space_volume)

DOMAIN = range(0, 8)


def as_set(intervals) -> set[int]:
    return {v for lo, hi in intervals for v in range(lo, hi + 1)}


def random_intervals(rnd: random.Random, low: int = 0, high: int = 7):
    values = [v for v in range(low, high + 1) if rnd.random() < 0.45]
    return normalize((v, v) for v in values)


def box_points(box) -> set[tuple[int, ...]]:
    return set(itertools.product(*(sorted(as_set(f)) for f in box)))


def random_box(rnd: random.Random, fields: int = 3):
    box = tuple(random_intervals(rnd) for _ in range(fields))
    return box if all(box) else random_box(rnd, fields)


def test_normalize_merges_adjacent_and_overlapping():
    assert normalize([(5, 9), (1, 2), (3, 4), (8, 12), (20, 19)]) == ((1, 12),)


@pytest.mark.parametrize("seed", range(40))
def test_interval_operations_match_sets(seed):
    rnd = random.Random(seed)
    a, b = random_intervals(rnd), random_intervals(rnd)
    assert as_set(iv_and(a, b)) == as_set(a) & as_set(b)
    assert as_set(iv_sub(a, b)) == as_set(a) - as_set(b)
    assert as_set(iv_or(a, b)) == as_set(a) | as_set(b)
    assert iv_subset(a, b) == (as_set(a) <= as_set(b))
    for value in DOMAIN:
        assert iv_contains(a, value) == (value in as_set(a))
    for result in (iv_and(a, b), iv_sub(a, b), iv_or(a, b)):
        assert result == normalize(result)  # canonical: sorted, merged


@pytest.mark.parametrize("seed", range(60))
def test_box_operations_match_point_sets(seed):
    rnd = random.Random(1000 + seed)
    a, b = random_box(rnd), random_box(rnd)
    pa, pb = box_points(a), box_points(b)
    meet = box_and(a, b)
    assert (box_points(meet) if meet else set()) == pa & pb
    parts = box_sub(a, b)
    union: set = set()
    for part in parts:
        points = box_points(part)
        assert not points & union, "box_sub must give disjoint boxes"
        union |= points
    assert union == pa - pb
    assert len(parts) <= len(a)
    assert box_subset(a, b) == (pa <= pb)
    assert box_volume(a) == len(pa)


@pytest.mark.parametrize("seed", range(30))
def test_space_subtraction_of_many_boxes(seed):
    rnd = random.Random(2000 + seed)
    start = [random_box(rnd) for _ in range(2)]
    start = [start[0]] + box_sub(start[1], start[0])  # a space is disjoint boxes
    others = [random_box(rnd) for _ in range(rnd.randint(1, 6))]
    expected = set().union(*(box_points(b) for b in start))
    for other in others:
        expected -= box_points(other)
    result = space_sub(start, others)
    got = set().union(*(box_points(b) for b in result)) if result else set()
    assert got == expected
    assert space_volume(result) == len(expected)  # still disjoint
    for point in itertools.product(DOMAIN, repeat=3):
        assert any(box_contains(b, point) for b in result) == (point in expected)
    assert as_set(project(result, 1)) == {p[1] for p in expected}


def _wide_box(**narrow):
    """A box over all fields of the packet space, narrowed on some."""
    full = ((0, 2**32 - 1),)
    box = [full] * len(space.FIELDS)
    for name, values in narrow.items():
        box[space.FIELDS.index(name)] = values
    return tuple(box)


@pytest.mark.parametrize("seed", range(20))
def test_index_returns_every_intersecting_box(seed):
    rnd = random.Random(3000 + seed)
    index = BoxIndex()
    boxes = []
    for n in range(60):
        narrow = {}
        if rnd.random() < 0.8:
            narrow["protocol"] = rnd.choice((((6, 6),), ((17, 17),), ((6, 6), (17, 17)),
                                             ((0, 255),)))
        if rnd.random() < 0.8:
            narrow["dport"] = rnd.choice((((22, 22),), ((80, 80), (443, 443)), ((1, 1024),),
                                          ((8000, 8010),)))
        if rnd.random() < 0.7:
            host = rnd.randint(1, 4)
            narrow["daddr"] = rnd.choice((((host, host),), ((0, 3),), ((2, 2), (4, 4))))
        box = _wide_box(**narrow)
        boxes.append(box)
        index.add(box, n)
    for query in boxes[:30]:
        expected = {n for n, b in enumerate(boxes) if box_and(b, query) is not None}
        found = list(index.query(query))
        assert len(found) == len(set(found)), "each item at most once"
        assert expected <= set(found)


@pytest.mark.parametrize("seed", range(20))
def test_many_intervals_met_by_one_match_sets(seed):
    """A fragmented field (more intervals than the bisection threshold) against one interval,
    both ways round: the bisection paths give what the point sets give."""
    rnd = random.Random(seed)
    for _ in range(50):
        many = random_intervals(rnd, 0, 120)
        lo = rnd.randint(-2, 122)
        one = ((lo, rnd.randint(lo, 124)),)
        assert len(many) > space._BISECT_FROM  # the bisection paths are the ones tested
        for a, b in ((many, one), (one, many)):
            assert as_set(iv_and(a, b)) == as_set(a) & as_set(b)
            assert normalize(iv_and(a, b)) == iv_and(a, b)
            assert as_set(iv_sub(a, b)) == as_set(a) - as_set(b)
            assert normalize(iv_sub(a, b)) == iv_sub(a, b)
