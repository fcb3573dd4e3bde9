"""The rate and time-left estimators of progress bars and jobs (ingest.progress), on an injected clock."""

from __future__ import annotations

import pytest

from ingest.progress import IngestMeter, RateMeter, short_duration


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_said_before_two_updates_a_second_apart():
    clock = Clock()
    meter = RateMeter(clock=clock)
    assert (meter.rate, meter.eta) == (None, None)
    meter.update(0, 100)
    assert (meter.rate, meter.eta) == (None, None)
    clock.now += 0.5
    meter.update(40, 100)  # two updates, but only half a second: no figure from so little
    assert (meter.rate, meter.eta) == (None, None)
    clock.now += 0.5
    meter.update(50, 100)
    assert meter.rate == pytest.approx(50.0)
    assert meter.eta == pytest.approx(1.0)


def test_steady_work_gives_its_rate_and_the_time_left():
    clock = Clock()
    meter = RateMeter(clock=clock)
    for done in range(0, 70, 10):  # 10 items every 2 s
        meter.update(done, 200)
        clock.now += 2
    assert meter.rate == pytest.approx(5.0)
    assert meter.eta == pytest.approx((200 - 60) / 5.0)


def test_the_rate_follows_the_last_window_only():
    clock = Clock()
    meter = RateMeter(window=10, clock=clock)
    done = 0
    for _ in range(30):  # 30 s at 10 items/s
        meter.update(done, 1000)
        clock.now += 1
        done += 10
    for _ in range(30):  # then 30 s at 2 items/s
        meter.update(done, 1000)
        clock.now += 1
        done += 2
    assert meter.rate == pytest.approx(2.0)
    assert meter.eta == pytest.approx((1000 - meter.done) / 2.0)


def test_bursts_of_updates_at_the_same_instant_never_divide_by_zero():
    clock = Clock()
    meter = RateMeter(clock=clock)
    for done in (0, 5, 9):
        meter.update(done, 20)  # the same instant
    assert (meter.rate, meter.eta) == (None, None)
    clock.now += 3
    for done in (12, 15, 18):
        meter.update(done, 20)
    assert meter.rate == pytest.approx(6.0)
    assert meter.eta == pytest.approx(2 / 6.0)


def test_never_negative_and_unknown_when_stalled_or_without_total():
    clock = Clock()
    meter = RateMeter(clock=clock)
    meter.update(0, 10)
    clock.now += 2
    meter.update(15, 10)  # more than the total: nothing left, not a negative time
    assert meter.rate == pytest.approx(7.5) and meter.eta == 0
    stalled = RateMeter(clock=clock)
    stalled.update(4, 10)
    clock.now += 5
    stalled.update(4, 10)
    assert stalled.rate == 0 and stalled.eta is None  # no progress: no time left can be said
    no_total = RateMeter(clock=clock)
    no_total.update(0)
    clock.now += 2
    no_total.update(30)
    assert no_total.rate == pytest.approx(15.0) and no_total.eta is None


def test_done_going_back_starts_the_measure_again():
    clock = Clock()
    meter = RateMeter(clock=clock)
    meter.update(0, 100)
    clock.now += 10
    meter.update(100, 100)
    assert meter.rate == pytest.approx(10.0)
    clock.now += 1
    meter.update(0, 50)  # a new batch counted from 0
    assert (meter.rate, meter.eta) == (None, None)
    clock.now += 2
    meter.update(10, 50)
    assert meter.rate == pytest.approx(5.0) and meter.eta == pytest.approx(8.0)


def test_bad_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="min_seconds"):
        RateMeter(min_seconds=0)
    with pytest.raises(ValueError, match="window"):
        RateMeter(window=-1)


def test_short_duration():
    assert [short_duration(s) for s in (-3, 0, 0.4, 40, 89.4, 95, 150, 3599, 3600, 3900, 7322)] == [
        "0 s", "0 s", "0 s", "40 s", "89 s", "2 min", "2 min", "1 h 00 min", "1 h 00 min", "1 h 05 min", "2 h 02 min"]


def test_ingest_meter_passages_per_second_and_time_left_from_bytes():
    clock = Clock()
    meter = IngestMeter({"a.pdf": 1000, "same.pdf": 50_000, "b.pdf": 3000, "c.pdf": 4000, "bad.pdf": 9000},
                        clock=clock)
    assert (meter.rate, meter.eta) == (None, None)
    meter.finished("same.pdf", indexed=False)  # unchanged: instant, and out of the estimate
    meter.finished("bad.pdf", indexed=False)  # failed: likewise
    assert (meter.rate, meter.eta) == (None, None) and meter.bytes_total == 8000
    clock.now += 4
    meter.finished("a.pdf", indexed=True, passages=20)  # 1000 bytes in 4 s: 4000 + 3000 left take 28 s
    assert meter.rate == pytest.approx(5.0)
    assert meter.eta == pytest.approx(28.0)
    clock.now += 8
    meter.finished("b.pdf", indexed=True, passages=40)  # 4000 bytes in 12 s
    assert meter.rate == pytest.approx(60 / 12)
    assert meter.eta == pytest.approx(4000 / (4000 / 12))
    clock.now += 10
    meter.finished("c.pdf", indexed=True, passages=50)
    assert meter.passages == 110 and meter.eta is None  # nothing left to do
    meter.finished("not-planned.txt", indexed=True, passages=1)  # a file the plan did not size counts its passages
    assert meter.passages == 111 and meter.eta is None
