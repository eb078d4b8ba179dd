"""deployer/release/lease.py against SSM of the local AWS (over HTTP): acquire, refuse, wait, take over,
heartbeat, lose, release — and the race a stale reader could otherwise win. The lease's records, owner,
path and waiting time alone: tests/unit/test_lease_records.py."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import timedelta

import pytest

from deployer.release import lease
from deployer.aws.session import Aws
from deployer.core.console import Console

CLUSTER, SERVICE = "demo", "web"
PATH = lease.lease_path(CLUSTER, SERVICE)


@pytest.fixture
def store(aws, monkeypatch):
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    return lease.LeaseStore(Aws(region="us-east-1"))


def console() -> Console:
    return Console(stream=io.StringIO())


def said(c: Console) -> str:
    return c.stream.getvalue()


def claim(owner: str, ttl: int = 30) -> lease.Claim:
    return lease.Claim(owner=owner, command="deploy", ttl=ttl, token=owner + "-token", started_at=lease.now())


def generations(store) -> list[lease.Record]:
    return sorted(store.read(PATH), key=lambda r: r.generation)


def test_first_acquire_creates_generation_1_and_a_second_is_refused_naming_the_holder(store):
    held = lease.acquire(store, CLUSTER, SERVICE, claim("alice@host pid 1"), console(), wait=None)
    assert held.name == "/deployer/locks/demo/web/g0000000001"
    with pytest.raises(lease.LeaseHeld) as refused:
        lease.acquire(store, CLUSTER, SERVICE, claim("bob@host pid 2"), console(), wait=None)
    assert "another release holds the lease of the service: alice@host pid 1 (deploy, since" in refused.value.message
    assert refused.value.exit_code == 1 and "--wait-for-lock" in refused.value.hint
    assert [r.owner for r in generations(store)] == ["alice@host pid 1"]


def test_release_marks_the_head_released_and_the_next_holder_cleans_up(store):
    first = lease.acquire(store, CLUSTER, SERVICE, claim("alice"), console(), wait=None)
    first.release()
    (record,) = generations(store)
    assert record.released and record.generation == 1  # the head is kept: the chain never goes back
    c = console()
    second = lease.acquire(store, CLUSTER, SERVICE, claim("bob"), c, wait=None)
    assert second.generation == 2 and "took over" not in said(c)
    assert [(r.generation, r.owner) for r in generations(store)] == [(2, "bob")]


def test_an_expired_lease_is_taken_over_naming_the_old_holder(store):
    dead = claim("carol@ci pid 9", ttl=2)
    assert store.create(lease.generation_name(PATH, 7), dead.value())
    # Stale by SSM's clock: no heartbeat for more than its ttl (2 s) plus the margin.
    time.sleep(dead.ttl + lease.STALE_MARGIN + 1.5)
    c = console()
    taken = lease.acquire(store, CLUSTER, SERVICE, claim("dave"), c, wait=None)
    assert taken.generation == 8
    assert "web: took over the lease from carol@ci pid 9 (deploy): its last heartbeat was" in said(c) and "ago by SSM's clock (ttl 2s)" in said(c)
    assert [r.generation for r in generations(store)] == [8]


def test_two_contenders_at_once_exactly_one_wins(store):
    outcomes: dict[str, object] = {}
    start = threading.Barrier(2)

    def contend(name: str) -> None:
        start.wait()
        try:
            outcomes[name] = lease.acquire(store, CLUSTER, SERVICE, claim(name), console(), wait=None)
        except lease.LeaseHeld as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=contend, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [v for v in outcomes.values() if isinstance(v, lease.Lease)]
    losers = [v for v in outcomes.values() if isinstance(v, lease.LeaseHeld)]
    assert len(winners) == 1 and len(losers) == 1
    assert winners[0].claim.owner in losers[0].message


class StaleFirstRead:
    """A store whose first read answers an old state: a contender that read long ago."""

    def __init__(self, store, stale: list[lease.Record]):
        self.store, self.stale = store, stale

    def read(self, path):
        if self.stale is not None:
            records, self.stale = self.stale, None
            return records
        return self.store.read(path)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_stale_reader_that_recreates_a_cleaned_up_generation_backs_off(store):
    old = lease.acquire(store, CLUSTER, SERVICE, claim("old"), console(), wait=None)
    old.release()
    newer = lease.acquire(store, CLUSTER, SERVICE, claim("newer"), console(), wait=None)  # g2; g1 deleted
    assert newer.generation == 2 and [r.generation for r in generations(store)] == [2]
    # A contender that read the chain long ago (head g0, released) creates g1, free again since the
    # clean-up: its check that g1 is the head fails, it removes g1 and finds newer's live lease.
    stale_view = [lease.Record.parse(lease.generation_name(PATH, 0), json.dumps(claim("old").value(released=True)))]
    with pytest.raises(lease.LeaseHeld) as refused:
        lease.acquire(StaleFirstRead(store, stale_view), CLUSTER, SERVICE, claim("stale"), console(), wait=None)
    assert "newer" in refused.value.message
    assert [(r.generation, r.owner) for r in generations(store)] == [(2, "newer")]  # its g1 was removed again


def test_heartbeat_renews_and_notices_a_takeover(store):
    held = lease.acquire(store, CLUSTER, SERVICE, claim("erin", ttl=30), console(), wait=None)
    before = generations(store)[0].expires_at
    time.sleep(1.1)
    assert held.beat() is None
    assert generations(store)[0].expires_at > before
    intruder = claim("frank")
    assert store.create(lease.generation_name(PATH, held.generation + 1), intruder.value())
    assert held.beat() == "frank took the lease of web over (deploy) and holds it now"


def test_a_lost_lease_is_reported_by_the_heartbeat_thread(store):
    lost = threading.Event()
    held = lease.acquire(store, CLUSTER, SERVICE, claim("gina", ttl=2), console(), wait=None)
    held.on_lost = lambda _lease: lost.set()
    held.start()
    assert store.create(lease.generation_name(PATH, held.generation + 1), claim("hank").value())
    assert lost.wait(timeout=10), "the heartbeat never noticed"
    assert held.lost == "hank took the lease of web over (deploy) and holds it now"
    held.release()  # not ours any more: nothing is written
    assert [(r.owner, r.released) for r in generations(store)] == [("gina", False), ("hank", False)]


def test_waiting_gets_the_lease_when_the_holder_releases_it(store, monkeypatch):
    monkeypatch.setattr(lease, "POLL_SECONDS", 0.2)
    holder = lease.acquire(store, CLUSTER, SERVICE, claim("ivan"), console(), wait=None)
    threading.Timer(1.0, holder.release).start()
    c = console()
    got = lease.acquire(store, CLUSTER, SERVICE, claim("judy"), c, wait=30)
    assert got.generation == 2
    assert "web: waiting for the lease held by ivan (deploy, since" in said(c)


def test_waiting_is_bounded(store, monkeypatch):
    monkeypatch.setattr(lease, "POLL_SECONDS", 0.2)
    lease.acquire(store, CLUSTER, SERVICE, claim("kim"), console(), wait=None)
    with pytest.raises(lease.LeaseHeld) as refused:
        lease.acquire(store, CLUSTER, SERVICE, claim("leo"), console(), wait=0.5)
    assert "still held after waiting" in refused.value.message and "--lock-timeout" in refused.value.message






def test_a_lost_lease_stops_the_main_thread_before_its_next_write(store):
    """The heartbeat thread interrupts the main thread wherever it waits (here: a sleep)."""
    guard = lease._InterruptOnLoss()
    try:
        held = lease.acquire(store, CLUSTER, SERVICE, claim("olga", ttl=2), console(), wait=None)
        held.on_lost = guard.lost
        held.start()
        assert store.create(lease.generation_name(PATH, held.generation + 1), claim("pete").value())
        with pytest.raises(lease.LeaseLost) as lost:
            time.sleep(30)  # a poll's wait: the signal ends it
        assert lost.value.message == "lost the lease: pete took the lease of web over (deploy) and holds it now; stopped before the next write"
    finally:
        guard.done()


def test_iam_policy_grants_the_lease_on_the_services_paths_only(app, aws, platform):
    result = app.cli("iam-policy")
    assert result.code == 0, result.stderr
    by_sid = {s["Sid"]: s for s in json.loads(result.stdout)["Statement"]}
    statement = by_sid["ReleaseLease"]
    assert statement["Action"] == ["ssm:DeleteParameter", "ssm:GetParametersByPath", "ssm:PutParameter"]
    cluster = platform["outputs"]["ClusterName"]
    assert statement["Resource"] == [
        f"arn:aws:ssm:us-east-1:123456789012:parameter/deployer/locks/{cluster}/web",
        f"arn:aws:ssm:us-east-1:123456789012:parameter/deployer/locks/{cluster}/web/*",
    ]


def test_a_bad_lock_ttl_or_lock_timeout_is_bad_input_and_changes_nothing(app, aws, platform):
    from tests.conftest import ecs_state, image_ref

    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    app.edit("deployer.yaml", "rollback_on_failure: true", "rollback_on_failure: true\n  lock_ttl: 1")
    result = app.cli("deploy", "--image", image_ref(platform, "v1"))
    assert result.code == 2 and "deploy.lock_ttl" in result.stderr and "at least 2 seconds" in result.stderr
    app.edit("deployer.yaml", "lock_ttl: 1", "lock_ttl: 60")
    result = app.cli("deploy", "--image", image_ref(platform, "v1"), "--wait-for-lock", "--lock-timeout", "-5")
    assert result.code == 2 and "--lock-timeout" in result.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before
    assert aws.client("ssm").get_parameters_by_path(Path="/deployer/locks", Recursive=True)["Parameters"] == []




def test_no_lock_deploys_past_a_held_lease_and_leaves_it_alone(app, aws, platform):
    from tests.conftest import image_ref

    ssm = aws.client("ssm")
    name = lease.generation_name(lease.lease_path(platform["outputs"]["ClusterName"], "web"), 1)
    ssm.put_parameter(Name=name, Value=json.dumps(claim("quinn@ci pid 77", ttl=600).value()), Type="String")
    held_by_quinn = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    refused = app.cli("deploy", "--image", image_ref(platform, "v1"))
    assert refused.code == 1 and "quinn@ci pid 77 (deploy, since" in refused.stderr, refused.stderr
    forced = app.cli("deploy", "--image", image_ref(platform, "v1"), "--no-lock")
    assert forced.code == 0, forced.stderr
    assert "--no-lock: not taking the lease; another release of web may run at the same time" in forced.stderr
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == held_by_quinn
