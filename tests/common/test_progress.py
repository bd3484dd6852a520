"""The node's progress figures (common/progress.py): their text, CDI's percent, and the throttle that
keeps a node from writing one per chunk."""
from services.common import progress


def test_figures_round_trip_and_read():
    assert progress.decode(progress.encode(5, 10)) == (5, 10)
    assert progress.decode(progress.encode(5, None)) == (5, None)
    for bad in ("", "5", "x/10", "5/y"):
        assert progress.decode(bad) is None
    assert progress.percent(1, 3) == "33.33%" and progress.percent(4, 3) == "100.00%"
    assert progress.percent(1, None) == "N/A"
    assert [progress.human_bytes(n) for n in (0, 1023, 1536, 5 << 20, 3 << 30)] == \
        ["0 B", "1023 B", "1.5 KiB", "5.0 MiB", "3.0 GiB"]
    assert progress.describe(1 << 20, 4 << 20) == "1.0 MiB of 4.0 MiB (25.00%)"
    assert progress.describe(1 << 20, None) == "1.0 MiB"
    assert progress.amount(1 << 20, 4 << 20) == "1.0 MiB of 4.0 MiB"


def test_throttle_writes_at_most_once_a_second_and_per_percent():
    now = [0.0]
    t = progress.Throttle(clock=lambda: now[0])
    assert t.due(0, 1000)             # the first figure
    assert not t.due(500, 1000)       # too soon
    now[0] = 1.0
    assert not t.due(5, 1000)         # less than a percent more
    assert t.due(500, 1000)
    now[0] = 1.5
    assert not t.due(1000, 1000)
    now[0] = 2.0
    assert t.due(1000, 1000)          # the end is always worth showing
    # one chunk per millisecond for 10 s: about one write a second, not ten thousand
    t, writes = progress.Throttle(clock=lambda: now[0]), 0
    for i in range(10000):
        now[0] = 10 + i / 1000
        writes += t.due(i * 100, 10000 * 100)
    assert 9 <= writes <= 11
    # without a total: a MiB at least
    t = progress.Throttle(clock=lambda: now[0])
    assert t.due(0, None)
    now[0] += 5
    assert not t.due(1000, None)
    assert t.due(1 << 20, None)
