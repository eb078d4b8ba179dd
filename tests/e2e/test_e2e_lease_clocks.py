"""The lease without trusting clocks, and a heartbeat that survives SSM's throttling: real `deployer
deploy` processes against the local AWS, some with a wall clock off (tests/skewed_clock.py).

- a reader whose clock runs 5 minutes fast does not take a live lease;
- a holder whose clock ran a day fast does not block releases after it died (taken over once SSM's
  clock shows its heartbeat older than its ttl);
- SSM throttling the heartbeat for longer than the ttl is retried: the release reaches its verdict
  (and rolls a failing deployment back), never "lost the lease";
- a lease lost with nobody holding it: the run takes it again and rolls back what it started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import image_ref

ROOT = Path(__file__).resolve().parents[2]
SKEWED = ROOT / "tests" / "skewed_clock.py"
SLOW_TICK = 1.0  # a rollout of about 6 ticks: the holder is still watching when the next job starts
DAY, FIVE_MINUTES = 86400, 300


class Job:
    """One `deployer deploy --image` process, its wall clock `skew` seconds off."""

    def __init__(self, app, platform, tag: str, *flags: str, skew: float = 0, env: dict | None = None):
        self.tag = tag
        self.image = image_ref(platform, tag)
        env = app.environ(env)
        env.pop("CODEBUILD_BUILD_ID", None)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        command = [sys.executable, str(SKEWED), str(skew)] if skew else [sys.executable, "-m", "deployer"]
        self.proc = subprocess.Popen([*command, "deploy", "--image", self.image, "--output", "json", *flags],
                                     cwd=app.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.code: int | None = None
        self.stdout = self.stderr = ""
        self._waiter = threading.Thread(target=self._wait, daemon=True)
        self._waiter.start()

    def _wait(self) -> None:
        self.stdout, self.stderr = self.proc.communicate(timeout=240)
        self.code = self.proc.returncode

    def join(self) -> "Job":
        self._waiter.join(timeout=260)
        assert self.code is not None, f"{self.tag} did not finish"
        return self

    @property
    def owner(self) -> str:
        return f"pid {self.proc.pid}"

    @property
    def result(self) -> dict:
        return json.loads(self.stdout.strip().splitlines()[-1])


def short_lease(app, ttl: int) -> None:
    app.edit("deployer.yaml", "rollback_on_failure: true", f"rollback_on_failure: true\n  lock_ttl: {ttl}")


def cluster(platform) -> str:
    return platform["outputs"]["ClusterName"]


def service(aws, platform) -> dict:
    return aws.client("ecs").describe_services(cluster=cluster(platform), services=["web"])["services"][0]


def revision_of(aws, image: str) -> str | None:
    ecs = aws.client("ecs")
    for arn in ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"]:
        if ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"][0]["image"] == image:
            return arn
    return None


def wait_until_deploying(aws, platform, job: Job, limit: float = 90) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and job.proc.poll() is None:
        arn = revision_of(aws, job.image)
        if arn and service(aws, platform)["taskDefinition"] == arn:
            return
        time.sleep(0.2)
    raise AssertionError(f"{job.tag} never started its deployment (exit {job.proc.poll()}): {job.proc.stderr and ''}")


def until_settled(aws, platform, limit: float = 90) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if [d.get("rolloutState") for d in service(aws, platform)["deployments"]] == ["COMPLETED"]:
            return
        time.sleep(0.2)
    raise AssertionError("the service never settled")


def generations(aws, platform) -> list[dict]:
    params = aws.client("ssm").get_parameters_by_path(Path=f"/deployer/locks/{cluster(platform)}/web")["Parameters"]
    return [{"name": p["Name"], **json.loads(p["Value"])} for p in sorted(params, key=lambda p: p["Name"])]


def first_deploy(app, aws, platform) -> None:
    result = app.cli("deploy", "--image", image_ref(platform, "v0"))
    assert result.code == 0, result.stderr


def test_a_reader_five_minutes_fast_does_not_take_a_live_lease(app, aws, platform):
    short_lease(app, ttl=8)
    first_deploy(app, aws, platform)
    aws.configure(tick=SLOW_TICK)
    holder = Job(app, platform, "holder")
    wait_until_deploying(aws, platform, holder)
    # Its heartbeat_at/expires_at are minutes in the past by the reader's clock: it used to take over at once.
    reader = Job(app, platform, "fast-reader", skew=FIVE_MINUTES).join()
    assert reader.code == 1, reader.stderr
    assert "another release holds the lease of the service" in reader.stderr and holder.owner in reader.stderr, reader.stderr
    assert "ago by SSM's clock" in reader.stderr and "took over" not in reader.stderr
    assert revision_of(aws, reader.image) is None  # nothing registered, nothing deployed
    holder.join()
    assert holder.code == 0 and holder.result["status"] == "deployed", holder.stderr
    assert "lost the lease" not in holder.stderr


def test_a_holder_five_minutes_fast_is_not_taken_over_while_alive_by_a_waiting_reader(app, aws, platform):
    short_lease(app, ttl=4)  # the waiter reads the lease for many ttls while the holder watches
    first_deploy(app, aws, platform)
    aws.configure(tick=SLOW_TICK)
    holder = Job(app, platform, "fast-holder", skew=-FIVE_MINUTES)  # its expires_at is minutes in the past
    wait_until_deploying(aws, platform, holder)
    waiter = Job(app, platform, "waiter", "--wait-for-lock", "--lock-timeout", "120").join()
    holder.join()
    assert holder.code == 0 and "lost the lease" not in holder.stderr, holder.stderr
    assert waiter.code == 0, waiter.stderr
    assert "waiting for the lease held by" in waiter.stderr and "took over" not in waiter.stderr, waiter.stderr
    assert service(aws, platform)["taskDefinition"] == revision_of(aws, waiter.image)


def test_a_holder_a_day_fast_that_died_does_not_block_the_next_release(app, aws, platform):
    ttl = 6
    short_lease(app, ttl=ttl)
    first_deploy(app, aws, platform)
    aws.configure(tick=SLOW_TICK)
    holder = Job(app, platform, "day-fast", skew=DAY)
    wait_until_deploying(aws, platform, holder)
    holder.proc.send_signal(signal.SIGKILL)
    holder.join()
    dead = generations(aws, platform)[-1]
    assert dead["owner"].endswith(holder.owner) and not dead["released"]
    assert dead["expires_at"] > time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + DAY - 60))  # a day ahead

    killed = time.monotonic()
    until_settled(aws, platform)  # its deployment goes on in ECS and completes
    time.sleep(max(0.0, killed + ttl + 4 - time.monotonic()))  # its last heartbeat is older than ttl + margin
    # A reader that just arrived, without --wait-for-lock: SSM's clock proves the lease stale at its first read.
    later = Job(app, platform, "after").join()
    assert later.code == 0, later.stderr
    assert "web: took over the lease from" in later.stderr and holder.owner in later.stderr, later.stderr
    assert "ago by SSM's clock (ttl 6s)" in later.stderr and "waiting for the lease" not in later.stderr, later.stderr
    assert service(aws, platform)["taskDefinition"] == revision_of(aws, later.image)
    (only,) = generations(aws, platform)
    assert only["released"] and only["owner"].endswith(later.owner)


def test_ssm_throttling_the_heartbeat_past_the_ttl_is_retried_and_a_failing_release_still_rolls_back(app, aws, platform):
    short_lease(app, ttl=3)  # a heartbeat every 0.75 s; the burst lasts four ttls, the failing rollout longer
    first_deploy(app, aws, platform)
    before = service(aws, platform)["taskDefinition"]
    aws.configure(tick=SLOW_TICK)
    aws.mark_broken("*:bad", reason="exit 1: cannot connect to database")
    # Few attempts per call (as a CodeBuild project may set): the throttling reaches the heartbeat.
    job = Job(app, platform, "bad", env={"AWS_MAX_ATTEMPTS": "2"})
    wait_until_deploying(aws, platform, job)
    aws.burst(12, kind="throttle", services=["ssm"])
    burst_over = time.time() + 12
    job.join()
    time.sleep(max(0.0, burst_over - time.time()))
    assert job.code == 1, job.stderr
    assert "could not renew the lease (retrying)" in job.stderr and "ThrottlingException" in job.stderr, job.stderr
    assert "lost the lease" not in job.stderr and "now owns it" not in job.stderr, job.stderr
    assert "release failed for web" in job.stderr and f"web rolled back to {before.rsplit('/', 1)[-1]}" in job.stderr, job.stderr
    assert job.result["status"] == "rolled_back"
    until_settled(aws, platform)
    assert service(aws, platform)["taskDefinition"] == before
    head = generations(aws, platform)[-1]
    assert head["owner"].endswith(job.owner)
    assert head["released"] is True or "could not release the lease" in job.stderr  # SSM may still have been throttling


def _take_over(aws, platform, *, owner: str, released: bool) -> None:
    """Another release's generation above the holder's (as if it had found the holder's stale)."""
    head = generations(aws, platform)[-1]
    name = head.pop("name")
    number = int(name.rsplit("/g", 1)[1]) + 1
    value = {**head, "owner": owner, "token": "not-the-holders", "released": released}
    aws.client("ssm").put_parameter(Name=f"{name.rsplit('/g', 1)[0]}/g{number:010d}", Value=json.dumps(value), Type="String")


def test_a_lease_lost_with_nobody_holding_it_is_taken_again_and_what_the_run_started_is_rolled_back(app, aws, platform):
    short_lease(app, ttl=4)
    first_deploy(app, aws, platform)
    before = service(aws, platform)["taskDefinition"]
    aws.configure(tick=SLOW_TICK)
    job = Job(app, platform, "overtaken")
    wait_until_deploying(aws, platform, job)
    _take_over(aws, platform, owner="visitor@elsewhere pid 2", released=True)  # took it over and released it since
    job.join()
    assert job.code == 1, job.stderr
    assert ("lost the lease: visitor@elsewhere pid 2 took the lease of web over (deploy) and released it since: nobody holds it now"
            in job.stderr), job.stderr
    assert "nobody held the lease: took it again" in job.stderr
    assert f"nobody holds it now; took it again and rolled back what this run started: web rolled back to {before.rsplit('/', 1)[-1]}" in job.stderr
    assert "now owns it" not in job.stderr
    assert job.result["status"] == "rolled_back"
    until_settled(aws, platform)
    assert service(aws, platform)["taskDefinition"] == before
    head = generations(aws, platform)[-1]
    assert head["owner"].endswith(job.owner) and head["released"] is True  # the lease it took again, released


def test_a_lease_another_release_holds_now_is_not_written_under_and_the_message_says_who_and_what_goes_on(app, aws, platform):
    short_lease(app, ttl=4)
    first_deploy(app, aws, platform)
    aws.configure(tick=SLOW_TICK)
    job = Job(app, platform, "overtaken")
    wait_until_deploying(aws, platform, job)
    deployment = service(aws, platform)["deployments"][0]["id"]
    _take_over(aws, platform, owner="intruder@elsewhere pid 1", released=False)
    job.join()
    assert job.code == 1, job.stderr
    assert "lost the lease: intruder@elsewhere pid 1 took the lease of web over (deploy) and holds it now" in job.stderr, job.stderr
    assert ("and holds it now; stopped before the next write: not rolled back (without the lease, a write could race with another release); "
            f"this run started web: deployment {deployment} of web:") in job.stderr, job.stderr
    assert "`deployer rollback --service web`" in job.stderr and "rolling back" not in job.stderr
    assert job.result["status"] == "started" and job.result["deployment_id"] == deployment
