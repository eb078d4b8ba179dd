"""A release that ends before its verdict says where things stand: real `deployer deploy` processes
against the local AWS.

- SIGHUP (the terminal or the SSH session closed) behaves as Ctrl-C and SIGTERM: the lease is
  released, the message names the deployment that goes on, exit 130;
- the credentials expire mid-watch (ExpiredTokenException from every call): exit 3 naming what was
  started, that its outcome is unknown, the exact `deployer wait` command, and that the lease is left
  to expire (it cannot be released without credentials).
"""

from __future__ import annotations

import signal
import time

from tests.e2e.test_e2e_lease_clocks import SLOW_TICK, Job, first_deploy, generations, service, short_lease, wait_until_deploying


def test_sighup_releases_the_lease_and_says_where_things_stand(app, aws, platform):
    short_lease(app, ttl=30)  # a lease left behind would block the next release for 30 s
    first_deploy(app, aws, platform)
    aws.configure(tick=SLOW_TICK)
    job = Job(app, platform, "hung-up")
    wait_until_deploying(aws, platform, job)
    deployment = service(aws, platform)["deployments"][0]["id"]
    job.proc.send_signal(signal.SIGHUP)
    job.join()
    assert job.code == 130, (job.code, job.stderr)
    assert f"interrupted while watching (web: deployment {deployment} of web:2); the deployment goes on in ECS (web ran web:1)" in job.stderr, job.stderr
    assert "`deployer wait --service web`" in job.stderr
    head = generations(aws, platform)[-1]
    assert head["owner"].endswith(job.owner) and head["released"] is True
    nxt = Job(app, platform, "next").join()  # the lease is free at once
    assert "took over" not in nxt.stderr and "another release holds the lease" not in nxt.stderr, nxt.stderr


def test_credentials_expiring_mid_watch_end_with_the_state_and_the_exact_wait_command(app, aws, platform):
    ttl = 30
    short_lease(app, ttl=ttl)
    first_deploy(app, aws, platform)
    aws.configure(tick=SLOW_TICK)
    job = Job(app, platform, "expiring")
    wait_until_deploying(aws, platform, job)
    deployment = service(aws, platform)["deployments"][0]["id"]
    aws.burst(120, kind="expired_token", services=["ecs", "ssm", "logs", "elasticloadbalancing", "sts"])
    try:
        job.join()
    finally:
        aws.configure(burst_until=None)
    assert job.code == 3, (job.code, job.stderr)
    said = job.stderr
    assert "the AWS credentials expired (" in said and "ExpiredTokenException" in said, said
    assert f"this run started web: deployment {deployment} of web:2 (it ran web:1): its outcome is unknown, ECS goes on with it and nothing was rolled back" in said, said
    assert (f"the lease of web is left to expire (it cannot be released without credentials): another release can take it {ttl}s after "
            "its last heartbeat") in said, said
    assert "hint: with fresh credentials, follow it to its verdict: `deployer wait --service web`; undo it: `deployer rollback --service web`" in said
    assert job.result["status"] == "started" and job.result["deployment_id"] == deployment and job.result["exit_code"] == 3
    head = generations(aws, platform)[-1]
    assert head["owner"].endswith(job.owner) and head["released"] is False  # left to expire, as said
    # With fresh credentials, the command it names follows the deployment to its verdict.
    time.sleep(0.5)
    waited = app.cli("wait", "--service", "web")
    assert waited.code == 0, waited.stderr
