"""BoxIndex answers exactly its key relation, whatever the order of adds and queries.

The secondary maps of wide queries are made per choice of key components on first use and
kept up to date by later adds; point queries skip the key shapes no slot has.  Both are
checked here against the relation the index stands for: an item is a candidate of a query
when, in each of protocol, port and host, one of the two is wide or their values meet.
"""

from __future__ import annotations

import random

import pytest

from fwlint.analysis import space
from fwlint.analysis.space import BoxIndex, _index_keys


def _box(protocol=None, dport=None, daddr=None):
    full = ((0, 2**32 - 1),)
    box = [full] * len(space.FIELDS)
    for field, values in ((space.PROTOCOL, protocol), (space.DPORT, dport),
                          (space.DADDR, daddr)):
        if values is not None:
            box[field] = values
    return tuple(box)


def _candidate(stored, query) -> bool:
    for mine, theirs in zip(_index_keys(stored), _index_keys(query)):
        if mine is not None and theirs is not None and not set(mine) & set(theirs):
            return False
    return True


def test_field_indexes_follow_the_field_names():
    for name, index in (("family", space.FAMILY), ("local", space.LOCAL),
                        ("iif", space.IIF), ("oif", space.OIF), ("saddr", space.SADDR),
                        ("daddr", space.DADDR), ("protocol", space.PROTOCOL),
                        ("sport", space.SPORT), ("dport", space.DPORT),
                        ("icmp", space.ICMP), ("tcpflags", space.TCPFLAGS),
                        ("ct", space.CT), ("mark", space.MARK)):
        assert space.FIELDS[index] == name


@pytest.mark.parametrize("seed", range(25))
def test_queries_between_adds_find_exactly_the_candidates(seed):
    rnd = random.Random(7000 + seed)

    def some_box():
        return _box(
            protocol=rnd.choice((None, ((6, 6),), ((17, 17),), ((6, 6), (17, 17)))),
            dport=rnd.choice((None, ((22, 22),), ((80, 80),), ((80, 80), (443, 443)),
                              ((8000, 8003),), ((1, 1024),))),
            daddr=rnd.choice((None, ((1, 1),), ((2, 2),), ((1, 1), (3, 3)), ((0, 7),))))

    index = BoxIndex()
    stored = []
    for n in range(80):
        box = some_box()
        index.add(box, n)
        stored.append(box)
        if n % 4 == 3:  # wide and point queries while the index grows
            for _ in range(3):
                query = some_box()
                found = index.query(query)
                assert len(found) == len(set(found)), "each item at most once"
                assert set(found) == {i for i, b in enumerate(stored) if _candidate(b, query)}
    queries = [some_box() for _ in range(5)]
    found_all = index.query_all(queries)
    assert len(found_all) == len(set(found_all))
    assert set(found_all) == {i for i, b in enumerate(stored)
                              if any(_candidate(b, q) for q in queries)}
