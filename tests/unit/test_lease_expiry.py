"""deployer/release/lease.py's judgment of a lease, without trusting any client's clock (pure: no AWS).

A generation is stale when SSM's clock says its last write is older than its ttl (the answer's Date
minus the parameter's LastModifiedDate), or when this reader watched it not change for its ttl on
its own monotonic clock. The holder's started_at/heartbeat_at/expires_at never decide.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from deployer.release import lease
from deployer.core.console import Console
from deployer.core.errors import ExternalError

PATH = lease.lease_path("demo", "web")
T0 = datetime(2026, 12, 6, 10, 0, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self, at: float = 1000.0):
        self.at = at

    def __call__(self) -> float:
        return self.at


def claim_value(owner="alice", ttl=120, skew=timedelta(0), monkeypatch=None) -> dict:
    """What a holder whose wall clock is off by `skew` writes."""
    c = lease.Claim(owner=owner, command="deploy", ttl=ttl, token=owner + "-token", started_at=T0 + skew)
    if monkeypatch is not None:
        monkeypatch.setattr(lease, "now", lambda: T0 + skew)
    return c.value()


def record(value: dict | str, *, version=1, modified=T0, server_now=T0 + timedelta(seconds=5), generation=1) -> lease.Record:
    raw = value if isinstance(value, str) else json.dumps(value)
    return lease.Record.parse(lease.generation_name(PATH, generation), raw, version=version, modified_at=modified, server_now=server_now)


def test_a_holder_a_day_fast_that_died_is_stale_once_ssm_says_its_heartbeat_is_older_than_its_ttl(monkeypatch):
    value = claim_value(ttl=120, skew=timedelta(days=1), monkeypatch=monkeypatch)
    assert lease._parse_time(value["expires_at"]) > T0 + timedelta(hours=23)  # what the old judgment trusted
    alive = record(value, server_now=T0 + timedelta(seconds=100))
    assert lease.staleness(alive, lease.Watcher(), 120) is None
    dead = record(value, server_now=T0 + timedelta(seconds=130))
    assert lease.staleness(dead, lease.Watcher(), 120) == "its last heartbeat was 130s ago by SSM's clock (ttl 120s)"


def test_a_reader_5_minutes_fast_does_not_find_a_live_lease_stale(monkeypatch):
    value = claim_value(ttl=120)
    monkeypatch.setattr(lease, "now", lambda: T0 + timedelta(minutes=5))  # the reader's wall clock
    live = record(value, server_now=T0 + timedelta(seconds=31))  # a heartbeat every ttl/4
    assert lease.staleness(live, lease.Watcher(), 120) is None


def test_a_holder_whose_clock_runs_slow_is_not_found_stale_while_it_beats(monkeypatch):
    value = claim_value(ttl=60, skew=-timedelta(hours=3), monkeypatch=monkeypatch)  # expires_at three hours "ago"
    assert lease.staleness(record(value, server_now=T0 + timedelta(seconds=14)), lease.Watcher(), 60) is None


def test_the_margin_covers_ssms_whole_second_date():
    value = claim_value(ttl=10)
    assert lease.staleness(record(value, server_now=T0 + timedelta(seconds=10 + lease.STALE_MARGIN)), lease.Watcher(), 10) is None
    assert lease.staleness(record(value, server_now=T0 + timedelta(seconds=10 + lease.STALE_MARGIN + 1)), lease.Watcher(), 10)


def test_without_ssms_date_the_reader_watches_the_heartbeat_on_its_monotonic_clock():
    clock = FakeClock()
    watcher = lease.Watcher(clock)
    value = claim_value(ttl=20)
    first = record(value, version=7, server_now=None)
    assert first.age is None
    assert lease.staleness(first, watcher, 120) is None  # first sight: nothing proven
    clock.at += 15
    assert lease.staleness(record(value, version=7, server_now=None), watcher, 120) is None
    clock.at += 10  # no change for 25 s > 20 + margin
    assert lease.staleness(record(value, version=7, server_now=None), watcher, 120) == (
        "its heartbeat has not changed for 25s while this release watched it (ttl 20s)")


def test_a_heartbeat_seen_by_the_watcher_starts_its_count_again():
    clock = FakeClock()
    watcher = lease.Watcher(clock)
    value = claim_value(ttl=20)
    lease.staleness(record(value, version=7, server_now=None), watcher, 120)
    clock.at += 23
    assert lease.staleness(record(value, version=8, server_now=None), watcher, 120) is None  # a new Version: it beat
    clock.at += 23
    assert lease.staleness(record(value, version=8, server_now=None), watcher, 120) is not None


def test_a_wall_clock_jump_of_the_reader_changes_nothing(monkeypatch):
    clock = FakeClock()
    watcher = lease.Watcher(clock)
    value = claim_value(ttl=20)
    lease.staleness(record(value, version=3, server_now=None), watcher, 120)
    monkeypatch.setattr(lease, "now", lambda: T0 + timedelta(days=30))
    clock.at += 5
    assert lease.staleness(record(value, version=3, server_now=None), watcher, 120) is None


@pytest.mark.parametrize("ttl_s, used", [(30, 30), (1, 120), (10**9, 120), ("30", 120), (True, 120), (None, 120)])
def test_the_holders_ttl_is_used_when_believable(ttl_s, used):
    value = {**claim_value(ttl=30), "ttl_s": ttl_s}
    assert record(value).ttl_or(120) == used


def test_released_unreadable_and_absent_leases_are_free():
    assert lease.staleness(None, lease.Watcher(), 120) == "nobody holds it"
    assert lease.staleness(record({**claim_value(), "released": True}), lease.Watcher(), 120) == "released"
    assert lease.staleness(record("[1, 2]"), lease.Watcher(), 120) == "its value is not a lease deployer wrote"


def test_ssms_time_is_the_date_header_of_its_answer():
    assert lease.server_time("Sun, 06 Dec 2026 10:00:07 GMT") == T0 + timedelta(seconds=7)
    assert lease.server_time(None) is None
    assert lease.server_time("yesterday") is None
    naive = lease.Record.parse(lease.generation_name(PATH, 1), "{}", modified_at=lease._aware(datetime(2026, 12, 6, 10, 0, 0)),
                               server_now=T0 + timedelta(seconds=2))
    assert naive.age == 2


# ---- the holder: only a read that proves another holder is a loss -------------------------------

class FakeStore:
    """Answers reads from `records`; `fail` raises (throttling) on the next calls."""

    def __init__(self, records):
        self.records = records
        self.fail = 0
        self.writes = []

    def read(self, path):
        if self.fail:
            self.fail -= 1
            raise ExternalError("AWS refused while reading the lease (ssm GetParametersByPath): ThrottlingException: Rate exceeded")
        return list(self.records)

    def overwrite(self, name, value):
        self.writes.append(value)


def held_lease(store, ttl=8, clock=None):
    c = lease.Claim(owner="me", command="deploy", ttl=ttl, token="me-token", started_at=T0)
    return lease.Lease(store, "web", PATH, 1, c, Console(stream=io.StringIO()), clock=clock or FakeClock())


def test_throttled_renewals_are_retried_sooner_and_never_a_loss_even_past_the_ttl():
    clock = FakeClock()
    mine = record({**claim_value(owner="me", ttl=8), "token": "me-token"})
    store = FakeStore([mine])
    held = held_lease(store, clock=clock)
    assert held.next_beat() == 2.0
    store.fail = 5
    for attempt in range(5):
        clock.at += 3
        assert held.beat() is None  # throttled: not lost
    assert held.failures == 5 and held.next_beat() == 2.0
    said = held.console.stream.getvalue()
    assert said.count("could not renew the lease (retrying)") == 1
    assert "the lease was not renewed for 9s (ttl 8s): another release may take it over" in said
    clock.at += 1
    assert held.beat() is None and store.writes and held.failures == 0 and held.renewed_at == clock.at


def test_retries_back_off_from_half_a_second_to_ttl_over_4():
    held = held_lease(FakeStore([]), ttl=40)
    waits = []
    for failures in range(7):
        held.failures = failures
        waits.append(held.next_beat())
    assert waits == [10.0, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0]


def test_a_read_showing_a_higher_generation_is_a_loss_naming_who_holds_it():
    mine = record({**claim_value(owner="me"), "token": "me-token"})
    other = record(claim_value(owner="bob@ci pid 3"), generation=2)
    held = held_lease(FakeStore([mine, other]))
    assert held.beat() == "bob@ci pid 3 took the lease of web over (deploy) and holds it now"
    assert held.holder is other


def test_a_higher_generation_released_since_means_nobody_holds_it():
    mine = record({**claim_value(owner="me"), "token": "me-token"})
    other = record({**claim_value(owner="bob"), "released": True}, generation=2)
    held = held_lease(FakeStore([mine, other]))
    assert held.beat() == "bob took the lease of web over (deploy) and released it since: nobody holds it now"
    assert held.holder is None


def test_our_generation_overwritten_or_removed():
    theirs = record(claim_value(owner="carol"))
    held = held_lease(FakeStore([theirs]))
    assert held.beat() == f"the lease of web ({lease.generation_name(PATH, 1)}) was overwritten by carol (deploy), who holds it now"
    held = held_lease(FakeStore([]))
    assert held.beat().endswith("was removed or released by someone else: nobody holds it now") and held.holder is None
