"""Ctrl-C is never lost (``edgekit.interrupt``), and no model is made from part of its calibration set."""

from __future__ import annotations

import os
import signal
import threading
import weakref

import numpy as np
import pytest

from converters.calibration import Feed
from edgekit import interrupt
from edgekit.errors import EdgekitError


class _Garbage:
    pass


def _ctrl_c_inside_a_gc_callback(refs: list) -> None:
    """Ctrl-C arrives while the collector runs a weakref callback: Python raises it there and swallows it."""
    g = _Garbage()
    g.cycle = g
    refs.append(weakref.ref(g, lambda _: os.kill(os.getpid(), signal.SIGINT)))
    del g
    import gc

    gc.collect()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowed one, reported
def test_a_ctrl_c_swallowed_in_a_callback_is_raised_again():
    refs = []
    with pytest.raises(KeyboardInterrupt), interrupt.guard():
        _ctrl_c_inside_a_gc_callback(refs)
        threading.Event().wait(60)  # the re-delivered Ctrl-C ends this wait at once; 60 s means it was lost
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler and not interrupt.requested()


def test_a_ctrl_c_that_code_caught_stops_at_the_next_check():
    with pytest.raises(KeyboardInterrupt), interrupt.guard():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            threading.Event().wait(60)
        except KeyboardInterrupt:
            pass  # library code that eats it
        assert interrupt.requested()
        interrupt.check()


def test_no_ctrl_c_no_effect():
    with interrupt.guard():
        interrupt.check()
        assert not interrupt.requested()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_calibration_feed_counts_what_the_converter_took():
    x = np.zeros((3, 2, 2, 1), np.float32)
    full = Feed(x)
    assert len(list(full())) == 3
    full.require_all()
    cut = Feed(x)
    samples = cut()
    next(samples), next(samples)  # the converter stopped after taking one sample and asking for the second
    with pytest.raises(EdgekitError, match="calibration stopped after 1 of 3 samples, so the model was not written"):
        cut.require_all()
    with pytest.raises(EdgekitError, match="after 0 of 3"):
        Feed(x).require_all()  # never read at all


def test_calibration_feed_stops_at_a_swallowed_ctrl_c():
    x = np.zeros((5, 2, 2, 1), np.float32)
    feed = Feed(x)
    with pytest.raises(KeyboardInterrupt), interrupt.guard():
        samples = feed()
        next(samples)
        try:
            os.kill(os.getpid(), signal.SIGINT)
            threading.Event().wait(60)
        except KeyboardInterrupt:
            pass
        next(samples)
    assert feed.passes == [1]
