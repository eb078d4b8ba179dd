"""Two releases of one service at once: real `deployer deploy` processes against the local AWS.

The lease (deployer/release/lease.py) makes them take turns: the service ends on the image of the last job
that reported success, a refused job changed nothing, no two deployments of the service overlap,
a holder killed with -9 is taken over after its lease expires, Ctrl-C releases the lease, a holder
whose lease was taken over stops before its next write.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

from tests.conftest import image_ref
from tests.e2e.test_e2e_deploy import deploy, service

LOCK_TTL = 3  # seconds: short, so a killed holder's lease expires within the test
# The emulator's rollout step during the rounds: a rollout (about 6 ticks) outlasts a job's start-up
# (a few seconds on a busy machine), so the second job of a round finds the first one still holding.
SLOW_TICK = 1.0


class Job:
    """One `deployer deploy --image` process; `ended` is when it exited (test clock)."""

    def __init__(self, app, platform, tag: str, *flags: str):
        self.tag = tag
        self.image = image_ref(platform, tag)
        env = app.environ()
        env.pop("CODEBUILD_BUILD_ID", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deployer", "deploy", "--image", self.image, "--output", "json", *flags],
            cwd=app.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.code: int | None = None
        self.stdout = self.stderr = ""
        self.ended = 0.0
        self._waiter = threading.Thread(target=self._wait, daemon=True)
        self._waiter.start()

    def _wait(self) -> None:
        self.stdout, self.stderr = self.proc.communicate(timeout=180)
        self.code = self.proc.returncode
        self.ended = time.monotonic()

    def join(self) -> "Job":
        self._waiter.join(timeout=200)
        assert self.code is not None, f"{self.tag} did not finish"
        return self

    @property
    def owner(self) -> str:
        return f"pid {self.proc.pid}"  # how another job's message names this one (user@host pid N)

    @property
    def result(self) -> dict:
        return json.loads(self.stdout.strip().splitlines()[-1])


def _with_short_lease(app, ttl: int = LOCK_TTL) -> None:
    app.edit("deployer.yaml", "rollback_on_failure: true", f"rollback_on_failure: true\n  lock_ttl: {ttl}")


def _images_registered(aws) -> dict[str, str]:
    """image → task definition ARN of every revision of the family (ACTIVE or not)."""
    ecs = aws.client("ecs")
    found = {}
    for status in ("ACTIVE", "INACTIVE"):
        for arn in ecs.list_task_definitions(familyPrefix="web", status=status)["taskDefinitionArns"]:
            td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            found[td["containerDefinitions"][0]["image"]] = arn
    return found


def _running_image(aws, platform) -> str:
    arn = service(aws, platform)["taskDefinition"]
    return aws.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"][0]["image"]


def _check_round(aws, platform, jobs: list[Job], since: float) -> None:
    for job in jobs:
        job.join()
    by_tag = {job.tag: job for job in jobs}
    succeeded = [j for j in jobs if j.code == 0]
    refused = [j for j in jobs if j.code != 0]
    assert succeeded, [(j.tag, j.code, j.stderr) for j in jobs]
    registered = _images_registered(aws)
    for job in succeeded:
        assert job.result["status"] == "deployed", job.stderr
        assert registered[job.image] == job.result["task_definition"]
    for job in refused:
        assert job.code == 1, job.stderr
        other = next(j for j in jobs if j is not job)
        assert "another release holds the lease of the service" in job.stderr and other.owner in job.stderr, job.stderr
        assert "nothing was changed" in job.stderr
        # It changed nothing: no revision of its image, so no deployment of it either.
        assert job.image not in registered, job.stderr
    # The service runs the image of the last job that reported success.
    last = max(succeeded, key=lambda j: j.ended)
    assert _running_image(aws, platform) == last.image
    # The jobs took turns: each deployment of this round completed before the next one started.
    history = sorted((d for d in aws.state()["deployments"] if d["createdAt"] >= since), key=lambda d: d["createdAt"])
    assert len(history) == len(succeeded), history
    for earlier, later in zip(history, history[1:]):
        assert earlier["completedAt"] is not None and earlier["completedAt"] <= later["createdAt"], history
    # Each success was reported for the job's own revision, and the service ran it when it was reported.
    for job, record in zip(sorted(succeeded, key=lambda j: j.ended), history):
        assert record["taskDefinition"] == job.result["task_definition"], (job.tag, history)
    assert set(by_tag) == {j.tag for j in jobs}


def test_two_jobs_at_once_take_turns_over_four_rounds(app, aws, platform):
    _with_short_lease(app)
    assert deploy(app, platform, "v0").code == 0
    aws.configure(tick=SLOW_TICK)

    # Round 1: simultaneous, no waiting: one deploys, the other exits 1 naming the holder.
    since = time.time()
    jobs = [Job(app, platform, "r1-a"), Job(app, platform, "r1-b")]
    _check_round(aws, platform, jobs, since)
    assert sorted(j.code for j in jobs) == [0, 1], [(j.tag, j.stderr) for j in jobs]

    # Round 2: simultaneous, both wait for the lease: both deploy, one after the other.
    since = time.time()
    jobs = [Job(app, platform, "r2-a", "--wait-for-lock"), Job(app, platform, "r2-b", "--wait-for-lock")]
    _check_round(aws, platform, jobs, since)
    assert [j.code for j in jobs] == [0, 0], [(j.tag, j.stderr) for j in jobs]
    waiter = max(jobs, key=lambda j: j.ended)
    first = min(jobs, key=lambda j: j.ended)
    assert f"web: waiting for the lease held by" in waiter.stderr and first.owner in waiter.stderr, waiter.stderr
    assert "took over" not in waiter.stderr  # the heartbeat kept the holder's lease alive past its ttl

    # Round 3: staggered (the second starts while the first watches its rollout), no waiting.
    since = time.time()
    first = Job(app, platform, "r3-a")
    _wait_until_deploying(aws, platform, first)
    second = Job(app, platform, "r3-b")
    _check_round(aws, platform, [first, second], since)
    assert (first.code, second.code) == (0, 1), second.stderr

    # Round 4: staggered, the second waits: it deploys after the first, and its image stays.
    since = time.time()
    first = Job(app, platform, "r4-a")
    _wait_until_deploying(aws, platform, first)
    second = Job(app, platform, "r4-b", "--wait-for-lock")
    _check_round(aws, platform, [first, second], since)
    assert (first.code, second.code) == (0, 0), second.stderr
    assert _running_image(aws, platform) == second.image


def _wait_until_deploying(aws, platform, job: Job, limit: float = 60) -> None:
    """Until the service runs a deployment of the job's revision (the job then holds the lease and watches)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and job.proc.poll() is None:
        arn = _images_registered(aws).get(job.image)
        if arn and service(aws, platform)["taskDefinition"] == arn:
            return
        time.sleep(0.2)
    raise AssertionError(f"{job.tag} never started its deployment (exit {job.proc.poll()})")


def _lease_generations(aws, platform, name: str = "web") -> list[dict]:
    path = f"/deployer/locks/{platform['outputs']['ClusterName']}/{name}"
    params = aws.client("ssm").get_parameters_by_path(Path=path)["Parameters"]
    return [{"name": p["Name"], **json.loads(p["Value"])} for p in sorted(params, key=lambda p: p["Name"])]


def _until_settled(aws, platform, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if [d.get("rolloutState") for d in service(aws, platform)["deployments"]] == ["COMPLETED"]:
            return
        time.sleep(0.2)
    raise AssertionError("the service never settled")


def _holder_stopped_by(app, aws, platform, signum: int) -> Job:
    """A job that took the lease and started its deployment, then got `signum`."""
    _with_short_lease(app, ttl=8)  # long enough for the next job to find the lease still held
    assert deploy(app, platform, "v0").code == 0
    aws.configure(tick=SLOW_TICK)
    job = Job(app, platform, f"stopped-by-{signum}")
    _wait_until_deploying(aws, platform, job)
    job.proc.send_signal(signum)
    return job.join()


def test_a_killed_holders_lease_is_taken_over_after_it_expires(app, aws, platform):
    holder = _holder_stopped_by(app, aws, platform, signal.SIGKILL)  # no finally: the lease stays behind
    assert holder.code == -signal.SIGKILL
    stale = _lease_generations(aws, platform)
    assert stale[-1]["owner"].endswith(holder.owner) and not stale[-1]["released"]

    # While the dead holder's lease has not expired: refused, naming it, nothing changed.
    refused = Job(app, platform, "too-early").join()
    assert refused.code == 1 and holder.owner in refused.stderr, refused.stderr
    assert refused.image not in _images_registered(aws)

    _until_settled(aws, platform)  # the killed job's deployment goes on in ECS and completes
    later = Job(app, platform, "after-expiry", "--wait-for-lock").join()
    assert later.code == 0, later.stderr
    assert "web: took over the lease from" in later.stderr and holder.owner in later.stderr, later.stderr
    assert "(its holder stopped without releasing it)" in later.stderr
    assert _running_image(aws, platform) == later.image
    # The winner cleaned the dead generation up and released its own.
    generations = _lease_generations(aws, platform)
    assert len(generations) == 1 and generations[0]["released"] and generations[0]["owner"].endswith(later.owner)


def test_ctrl_c_releases_the_lease(app, aws, platform):
    job = _holder_stopped_by(app, aws, platform, signal.SIGINT)
    assert job.code == 130, job.stderr
    generations = _lease_generations(aws, platform)
    assert generations[-1]["owner"].endswith(job.owner) and generations[-1]["released"] is True

    _until_settled(aws, platform)
    nxt = Job(app, platform, "next").join()  # no waiting, no takeover: the lease was free
    assert nxt.code == 0, nxt.stderr
    assert "took over" not in nxt.stderr and "waiting for the lease" not in nxt.stderr


def test_rollback_and_prune_take_the_lease_too(app, aws, platform):
    _with_short_lease(app)
    assert deploy(app, platform, "v0").code == 0
    assert deploy(app, platform, "v1").code == 0
    aws.configure(tick=2.0)  # the holder's rollout outlasts the two refused commands
    job = Job(app, platform, "holder")
    _wait_until_deploying(aws, platform, job)
    before = _images_registered(aws)
    rollback = app.cli("rollback", "--to", "1", "--yes")
    prune = app.cli("revisions", "--prune", "--keep", "1", "--yes")
    for refused in (rollback, prune):
        assert refused.code == 1 and "another release holds the lease of the service" in refused.stderr, refused.stderr
        assert job.owner in refused.stderr
    assert job.join().code == 0, job.stderr
    assert _images_registered(aws) == {**before, job.image: job.result["task_definition"]}
    assert all(
        d["status"] == "ACTIVE"
        for d in (aws.client("ecs").describe_task_definition(taskDefinition=a)["taskDefinition"] for a in before.values())
    )
    # Dry runs read only: they take no lease.
    assert app.cli("rollback", "--to", "1", "--dry-run").code == 0


def test_a_holder_whose_lease_was_taken_over_stops_before_its_next_write(app, aws, platform):
    _with_short_lease(app)
    assert deploy(app, platform, "v0").code == 0
    aws.configure(tick=SLOW_TICK)
    job = Job(app, platform, "overtaken")
    _wait_until_deploying(aws, platform, job)
    head = _lease_generations(aws, platform)[-1]
    taker = {**head, "owner": "intruder@elsewhere pid 1", "token": "not-the-holders"}
    name = taker.pop("name")
    number = int(name.rsplit("/g", 1)[1]) + 1
    aws.client("ssm").put_parameter(Name=f"{name.rsplit('/g', 1)[0]}/g{number:010d}", Value=json.dumps(taker), Type="String")
    job.join()
    assert job.code == 1, job.stderr
    assert "lost the lease: intruder@elsewhere pid 1 took the lease of web over (deploy) and holds it now; stopped before the next write" in job.stderr
    # Its next write would have been the healthy tag (or a rollback): neither happened.
    revision = _images_registered(aws)[job.image]
    tags = {t["key"] for t in aws.client("ecs").describe_task_definition(taskDefinition=revision, include=["TAGS"])["tags"]}
    assert "deployer:healthy" not in tags
    assert "rolling back" not in job.stderr
