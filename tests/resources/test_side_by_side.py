"""Walks read side by side: every item once, a bounded buffer, early stops and errors."""

from __future__ import annotations

import itertools
import threading

import pytest

from antbot_source.resources.side_by_side import side_by_side


def test_every_item_of_every_walk_arrives_once():
    walks = [lambda n=n: (f"{n}-{i}" for i in range(50)) for n in range(7)]
    got = list(side_by_side(walks, workers=3, buffered=4))
    assert sorted(got) == sorted(f"{n}-{i}" for n in range(7) for i in range(50))


def test_the_buffer_is_bounded_and_an_early_stop_stops_the_walks():
    produced = itertools.count()
    lock = threading.Lock()

    def endless():
        while True:
            with lock:
                n = next(produced)
            yield n

    reader = side_by_side([endless, endless, endless], workers=2, buffered=5)
    assert next(reader) is not None
    reader.close()  # returns once the walks have stopped
    with lock:
        made = next(produced)
    assert made <= 1 + 5 + 2 + 1, "read + buffered + one in the hand of each walk (+ the count itself)"


def test_the_error_of_a_walk_is_raised_to_the_reader():
    def broken():
        yield 1
        raise ValueError("page 2 failed")

    with pytest.raises(ValueError, match="page 2 failed"):
        list(side_by_side([broken, lambda: iter(range(1000))], workers=2, buffered=2))
