"""The bad day: diagnosis, throttling and lost answers, one release at a time, Ctrl-C, verify,
pruning, secrets, several services released atomically."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

from tests.conftest import ecs_state, image_ref
from tests.e2e.test_e2e_deploy import deploy, service, tags_of


def test_failed_release_says_why(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    aws.mark_broken("*:broken", reason="panic: cannot connect to database at db:5432")
    failed = deploy(app, platform, "broken")
    assert failed.code == 1
    err = failed.stderr
    # "is rolling back" or, when a slow poll (a loaded machine) first sees it done, "rolled back"
    assert re.search(r"ECS deployment circuit breaker: tasks failed to start; ECS (is rolling|rolled) back to web:1", err), err
    assert "of web:2 stopped: Essential container in task exited" in err
    assert "container app: exit code 1" in err
    # The last log lines of the stopped task, read from CloudWatch Logs.
    assert "| " in err and "panic: cannot connect to database at db:5432" in err


def test_throttling_and_lost_answers_keep_the_verdict_and_register_once(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    aws.reset_counters()
    aws.configure(fault_rate=0.3, fault_kinds=["throttle", "error500", "drop", "lost"], fault_services=["ecs", "ecr", "cloudformation"], seed=7)
    result = deploy(app, platform, "v2")
    aws.configure(fault_rate=0.0)  # the checks below read without faults
    assert result.code == 0, result.stderr
    assert result.json["task_definition"].endswith("web:2")
    counters = aws.get_counters()
    faulted = sum(op.get("faulted", 0) for svc in counters.values() for op in svc.values())
    assert faulted > 0  # the faults really happened
    ecs = aws.client("ecs")
    # Extra revisions a retried, non-idempotent RegisterTaskDefinition would have made: none.
    assert [a.rsplit(":", 1)[-1] for a in sorted(ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"])] == ["1", "2"]
    svc = service(aws, platform)
    assert svc["taskDefinition"].endswith("web:2")
    assert [d["rolloutState"] for d in svc["deployments"]] == ["COMPLETED"]
    # The service was updated once: one deployment of web:2, however many times a call was retried.
    started = [d for d in aws.state()["deployments"] if str(d.get("taskDefinition", "")).endswith("web:2")]
    assert len(started) == 1, started


def test_lost_answers_to_register_and_create_are_not_repeated(app, aws, platform):
    """Every RegisterTaskDefinition and CreateService takes effect but its answer is lost: the
    retry must find the revision (by its token tag) and the service instead of making them again."""
    aws.configure(fault_rate=1.0, fault_kinds=["lost"], fault_services=["ecs"], fault_operations=["RegisterTaskDefinition", "CreateService"], seed=1)
    result = deploy(app, platform, "v1")
    aws.configure(fault_rate=0.0)
    assert result.code == 0, result.stderr
    counters = aws.get_counters()["ecs"]
    assert counters["RegisterTaskDefinition"]["faulted"] == 1 and counters["CreateService"]["faulted"] == 1
    assert aws.client("ecs").list_task_definitions(familyPrefix="web")["taskDefinitionArns"][-1].endswith("web:1")
    assert len(aws.client("ecs").list_task_definitions(familyPrefix="web")["taskDefinitionArns"]) == 1
    assert service(aws, platform)["taskDefinition"].endswith("web:1")


def test_one_release_at_a_time(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    aws.configure(tick=2.0)  # a rollout of several seconds: the second release surely finds it running
    started = deploy(app, platform, "v2", "--no-wait")
    assert started.code == 0 and started.json["status"] == "started"
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    refused = deploy(app, platform, "v3")
    assert refused.code == 1
    assert f"deployment {started.json['deployment_id']} of web:2 is still in progress (started" in refused.stderr
    assert "--force" in refused.stderr
    # Nothing registered or updated by the refused release (its revision is registered only after the check).
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before
    # (`deployer rollback` does not wait for it: it replaces it — tests/e2e/test_e2e_verdicts.py)
    waited = app.cli("wait", "--output", "json")
    assert waited.code == 0, waited.stderr
    assert waited.json["services"][0]["task_definition"].endswith("web:2")


def test_ctrl_c_while_watching_says_where_it_stands(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    aws.configure(tick=2.0)
    env = app.environ()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deployer", "deploy", "--image", image_ref(platform, "v2")],
        cwd=app.path, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        if "watching web" in line:
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=30)[1]
    err = "".join(lines) + rest
    assert proc.returncode == 130, err
    assert "interrupted while watching (web: deployment ecs-svc/" in err
    assert "of web:2" in err and "web ran web:1" in err
    assert "deployer wait" in err and "deployer rollback" in err


def test_verify_passes_on_the_example_and_fails_on_a_port_mismatch(app, aws, platform):
    ok = app.cli("verify", "--output", "json")
    assert ok.code == 0, ok.stdout + ok.stderr
    by_name = {c["name"]: c for c in ok.json["checks"]}
    for name in ("cluster", "container", "subnets", "security groups", "target group", "execution role", "task role", "log group"):
        assert by_name[name]["status"] == "pass", by_name[name]
    assert by_name["image"]["status"] == "warn" and "not pushed yet" in by_name["image"]["reason"]
    text = app.cli("verify")
    assert "PASS  cluster" in text.stdout and "0 failed" in text.stdout

    app.edit("deployer.yaml", "port: 8080", "port: 9090")
    app.edit("ecs-task-def.json.j2", '"containerPort": 8080', '"containerPort": 9090')
    bad = app.cli("verify")
    assert bad.code == 1
    assert "FAIL  target group" in bad.stdout and "target group port 8080 ≠ container port 9090" in bad.stdout
    # release/deploy run the cheap checks first: exit 2, nothing registered.
    refused = deploy(app, platform, "v1")
    assert refused.code == 2 and "pre-flight check failed: target group" in refused.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"])["task_definitions"] == []


def test_prune_keeps_running_last_healthy_and_newest(app, aws, platform):
    app.edit("ecs-service-def.json.j2", '"rollback": true', '"rollback": false')
    for tag in ("v1", "v2", "v3"):
        assert deploy(app, platform, tag).code == 0
    aws.mark_broken("*:broken")
    assert deploy(app, platform, "broken").code == 1  # web:4 failed; deployer put web:3 back
    assert deploy(app, platform, "v5", "--no-wait").code == 0  # web:5 still rolling out
    result = app.cli("revisions", "--prune", "--keep", "1", "--output", "json")
    assert result.code == 0, result.stderr
    entry = result.json["services"][0]
    kept = {k["task_definition"].rsplit(":", 1)[-1]: k["why"] for k in entry["kept"]}
    assert kept["5"] in ("running", "among the newest")
    assert kept["3"].startswith("used by deployment") or kept["3"] == "last healthy revision"
    removed = sorted(a.rsplit(":", 1)[-1] for a in entry["deregistered"])
    assert removed == ["1", "2", "4"]
    active = aws.client("ecs").list_task_definitions(familyPrefix="web", status="ACTIVE")["taskDefinitionArns"]
    assert sorted(a.rsplit(":", 1)[-1] for a in active) == ["3", "5"]


def test_secure_values_are_never_printed(app, aws, platform):
    aws.client("ssm").put_parameter(Name="/demo/db-password", Value="hunter2-s3cret", Type="SecureString")
    app.edit("ecs-task-def.json.j2", '{ "name": "LOG_LEVEL"', '{ "name": "DB_PASSWORD", "value": "{{ ssm(\'/demo/db-password\') }}" },\n        { "name": "LOG_LEVEL"')
    app.edit("deployer.yaml", "vars:\n", "allow_plaintext_secrets: true  # else refused (tests/e2e/test_e2e_security.py)\nvars:\n")
    rendered = app.cli("render", "--image", "repo:tag")
    assert rendered.code == 0, rendered.stderr
    assert "hunter2-s3cret" not in rendered.stdout + rendered.stderr
    assert '"value": "****"' in rendered.stdout
    assert "`DB_PASSWORD` as a plain environment value; use `secrets` with `valueFrom`" in rendered.stderr


MULTI = """\
app: shop
environment:
  proton: demo
services:
  - name: web
    task_definition: ecs-task-def.json.j2
    definition: ecs-service-def.json.j2
    container: app
    port: 8080
  - name: worker
    task_definition: ecs-task-def.json.j2
    definition: worker-service-def.json.j2
    container: app
deploy:
  timeout: 60
vars:
  replicas: 2
  log_level: info
"""


def multi_app(app):
    (app.path / "deployer.yaml").write_text(MULTI)
    (app.path / "worker-service-def.json.j2").write_text('{"desiredCount": 1, "loadBalancers": []}')
    return app


def test_several_services_all_healthy(app, aws, platform):
    multi_app(app)
    result = deploy(app, platform, "v1")
    assert result.code == 0, result.stderr
    by_name = {s["service"]: s for s in result.json["services"]}
    assert by_name["web"]["task_definition"].endswith("shop-web:1") and by_name["worker"]["task_definition"].endswith("shop-worker:1")
    assert all(s["status"] == "deployed" for s in by_name.values())
    assert service(aws, platform, "worker").get("loadBalancers", []) == []


def test_several_services_one_failing_rolls_all_back(app, aws, platform):
    multi_app(app)
    assert deploy(app, platform, "v1").code == 0
    aws.mark_broken("shop-worker:2")
    failed = deploy(app, platform, "v2")
    assert failed.code == 1, failed.stderr
    by_name = {s["service"]: s for s in failed.json["services"]}
    assert by_name["worker"]["verdict"] in ("ROLLED_BACK_BY_ECS", "FAILED")
    assert by_name["web"]["verdict"] == "COMPLETED"  # healthy on its own, put back all the same
    assert by_name["web"]["rolled_back_to"].endswith("shop-web:1")
    assert service(aws, platform, "web")["taskDefinition"].endswith("shop-web:1")
    assert service(aws, platform, "worker")["taskDefinition"].endswith("shop-worker:1")
    assert "deployer:healthy" not in tags_of(aws, by_name["web"]["task_definition"])
