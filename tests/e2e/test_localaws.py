"""The local AWS emulator, exercised the way the deployer uses it: boto3 over HTTP."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from tests.localaws import LocalAws
from tests.localaws.platform import create_environment

ROOT = Path(__file__).resolve().parents[2]
FAILURE = "exit 1: cannot connect to database"
OUTPUT_NAMES = ["ClusterName", "PrivateSubnet1", "PrivateSubnet2", "ServiceSecurityGroup",
                "TargetGroupArn", "EcrRepositoryUri", "TaskExecutionRoleArn", "TaskRoleArn",
                "LogGroupName", "VpcId", "LoadBalancerDnsName", "AlternateTargetGroupArn",
                "ProductionListenerRuleArn", "TestListenerRuleArn", "EcsInfrastructureRoleArn", "SchedulerRoleArn"]


@pytest.fixture(scope="module")
def aws(request):
    """One emulator per process (moto's backends are global): reuse the session one from
    conftest when there is one, with this module's settings, and put them back after."""
    try:
        emulator = request.getfixturevalue("local_aws")
        owned = None
    except pytest.FixtureLookupError:
        emulator = owned = LocalAws(tick=0.05).start()
    saved = emulator.settings.as_dict()
    emulator.reset()
    emulator.configure(tick=0.05, tasks_per_tick=2, failed_visible_seconds=0.5, broken=[], fault_rate=0.0)
    try:
        yield emulator
    finally:
        emulator.configure(**saved)
        if owned is not None:
            owned.stop()


@pytest.fixture(scope="module")
def env(aws):
    name, outputs = create_environment(aws.endpoint, "prod")
    return {"stack": name, **outputs}


def client(aws, service, **config):
    return boto3.client(service, endpoint_url=aws.endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(**config) if config else None)


def control(aws, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{aws.endpoint}/_localaws/{path}", data=data,
                                 method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def wait_for(check, timeout=8.0, interval=0.03):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def register(ecs, env, family, image="app:1", failure=None):
    environment = [{"name": "LOCALAWS_TASK_FAILURE", "value": failure}] if failure else []
    return ecs.register_task_definition(
        family=family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu="256", memory="512", executionRoleArn=env["TaskExecutionRoleArn"],
        containerDefinitions=[{
            "name": "app", "image": image, "essential": True, "environment": environment,
            "portMappings": [{"containerPort": 8080}],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": env["LogGroupName"], "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": family}},
        }],
    )["taskDefinition"]


def create_service(ecs, env, name, task_definition, breaker=None, desired=2):
    kwargs = {}
    if breaker is not None:
        kwargs["deploymentConfiguration"] = {
            "deploymentCircuitBreaker": breaker, "maximumPercent": 200, "minimumHealthyPercent": 100}
    return ecs.create_service(
        cluster=env["ClusterName"], serviceName=name, taskDefinition=task_definition,
        desiredCount=desired, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": [env["PrivateSubnet1"], env["PrivateSubnet2"]],
            "securityGroups": [env["ServiceSecurityGroup"]], "assignPublicIp": "DISABLED"}},
        loadBalancers=[{"targetGroupArn": env["TargetGroupArn"], "containerName": "app",
                        "containerPort": 8080}],
        healthCheckGracePeriodSeconds=30, enableExecuteCommand=True, **kwargs,
    )["service"]


def describe(ecs, env, name):
    return ecs.describe_services(cluster=env["ClusterName"], services=[name])["services"][0]


def deployment(service, dep_id):
    return next((d for d in service["deployments"] if d["id"] == dep_id), None)


def healthy_service(ecs, env, name, breaker=None):
    """A service that completed its first deployment on revision 1."""
    td = register(ecs, env, name)
    create_service(ecs, env, name, f"{name}:1", breaker=breaker)
    wait_for(lambda: describe(ecs, env, name)["deployments"][0]["rolloutState"] == "COMPLETED")
    return td


# ---- rollouts ---------------------------------------------------------------------------
def test_healthy_rollout_completes_and_replaces_old_deployment(aws, env):
    ecs = client(aws, "ecs")
    td1 = register(ecs, env, "web")
    created = create_service(ecs, env, "web", "web:1",
                             breaker={"enable": True, "rollback": True})
    # What moto drops, the emulator keeps; and the first deployment starts from zero.
    assert created["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert created["healthCheckGracePeriodSeconds"] == 30 and created["enableExecuteCommand"] is True
    assert created["taskDefinition"] == td1["taskDefinitionArn"]
    first = created["deployments"][0]
    assert re.fullmatch(r"ecs-svc/\d{19}", first["id"])
    assert (first["status"], first["rolloutState"], first["runningCount"]) == ("PRIMARY", "IN_PROGRESS", 0)
    wait_for(lambda: describe(ecs, env, "web")["deployments"][0]["rolloutState"] == "COMPLETED")

    td2 = register(ecs, env, "web", image="app:2")
    started = time.monotonic()
    updated = ecs.update_service(cluster=env["ClusterName"], service="web", taskDefinition="web:2")["service"]
    assert updated["taskDefinition"] == td2["taskDefinitionArn"]  # ARN, not the "web:2" given
    new, old = updated["deployments"]
    assert (new["status"], new["rolloutState"], new["taskDefinition"]) == ("PRIMARY", "IN_PROGRESS", td2["taskDefinitionArn"])
    assert new["launchType"] == "FARGATE" and new["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
    assert (old["id"], old["status"], old["runningCount"]) == (first["id"], "ACTIVE", 2)

    # Progress is visible on the way: the new deployment runs tasks while the old drains.
    seen_mixed = False
    while True:
        svc = describe(ecs, env, "web")
        deps = {d["id"]: d for d in svc["deployments"]}
        if new["id"] in deps and first["id"] in deps and deps[new["id"]]["runningCount"] > 0:
            seen_mixed = True
        if svc["deployments"][0]["rolloutState"] == "COMPLETED":
            break
        assert time.monotonic() - started < 5
        time.sleep(0.01)
    assert seen_mixed
    assert [d["id"] for d in svc["deployments"]] == [new["id"]]
    assert svc["runningCount"] == svc["desiredCount"] == svc["deployments"][0]["runningCount"] == 2
    assert svc["deployments"][0]["rolloutStateReason"] == f"ECS deployment {new['id']} completed."

    messages = [e["message"] for e in svc["events"]]
    assert messages[0] == "(service web) has reached a steady state."
    assert messages[1] == f"(service web) (deployment {new['id']}) deployment completed."
    assert any(re.fullmatch(r"\(service web\) has started 2 tasks: \(task \w+\) \(task \w+\)\.", m) for m in messages)
    assert any(m.startswith("(service web) has stopped") for m in messages)
    stamps = [e["createdAt"] for e in svc["events"]]
    assert stamps == sorted(stamps, reverse=True) and all(e["id"] for e in svc["events"])

    # The emulator recorded when it declared the verdict (for latency benchmarks).
    record = control(aws, f"deployments/{new['id']}")
    assert record["rolloutState"] == "COMPLETED" and record["completedAt"] >= record["createdAt"]

    # desiredCount alone scales; it is not a new deployment.
    ecs.update_service(cluster=env["ClusterName"], service="web", desiredCount=3)
    svc = wait_for(lambda: (s := describe(ecs, env, "web"))["runningCount"] == 3 and s)
    assert [d["id"] for d in svc["deployments"]] == [new["id"]]
    # Running tasks stay RUNNING however often they are described (moto's would not).
    arns = ecs.list_tasks(cluster=env["ClusterName"], serviceName="web")["taskArns"]
    assert len(arns) == 3
    for _ in range(3):
        tasks = ecs.describe_tasks(cluster=env["ClusterName"], tasks=arns)["tasks"]
        assert {t["lastStatus"] for t in tasks} == {"RUNNING"}


def test_broken_revision_trips_breaker_and_rolls_back(aws, env):
    ecs = client(aws, "ecs")
    good = healthy_service(ecs, env, "api", breaker={"enable": True, "rollback": True})
    register(ecs, env, "api", failure=FAILURE)
    ours = ecs.update_service(cluster=env["ClusterName"], service="api",
                              taskDefinition="api:2")["service"]["deployments"][0]["id"]

    failed = wait_for(lambda: (d := deployment(describe(ecs, env, "api"), ours))
                      and d["rolloutState"] == "FAILED" and d)
    assert failed["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert failed["failedTasks"] >= 3  # ECS threshold for desiredCount 2
    svc = describe(ecs, env, "api")
    assert svc["deployments"][0]["id"] != ours and svc["deployments"][0]["status"] == "PRIMARY"
    assert deployment(svc, ours)["status"] == "ACTIVE"

    svc = wait_for(lambda: (s := describe(ecs, env, "api"))["deployments"][0]["rolloutState"] == "COMPLETED"
                   and len(s["deployments"]) == 1 and s)
    assert svc["taskDefinition"] == good["taskDefinitionArn"]
    assert svc["deployments"][0]["taskDefinition"] == good["taskDefinitionArn"]
    assert svc["runningCount"] == 2
    messages = [e["message"] for e in svc["events"]]
    assert f"(service api) (deployment {ours}) deployment failed: tasks failed to start." in messages
    state = control(aws, "state")
    record = next(r for r in state["deployments"] if r["id"] == ours)
    assert record["rolloutState"] == "FAILED" and record["failedAt"] >= record["createdAt"]


def test_broken_without_breaker_stays_in_progress(aws, env):
    ecs = client(aws, "ecs")
    healthy_service(ecs, env, "worker")
    register(ecs, env, "worker", failure=FAILURE)
    ours = ecs.update_service(cluster=env["ClusterName"], service="worker",
                              taskDefinition="worker:2")["service"]["deployments"][0]["id"]
    first = wait_for(lambda: deployment(describe(ecs, env, "worker"), ours)["failedTasks"] >= 3)
    later = wait_for(lambda: (d := deployment(describe(ecs, env, "worker"), ours))["failedTasks"] >= 8 and d)
    assert later["rolloutState"] == "IN_PROGRESS" and later["status"] == "PRIMARY"
    svc = describe(ecs, env, "worker")
    assert svc["runningCount"] == 2  # the old revision keeps serving
    assert any(m["message"].startswith("(service worker) has stopped 1 running tasks: (task ")
               for m in svc["events"])
    assert first


def test_stopped_tasks_and_their_logs(aws, env):
    ecs, logs = client(aws, "ecs"), client(aws, "logs")
    healthy_service(ecs, env, "jobs")
    broken = register(ecs, env, "jobs", failure=FAILURE)
    ours = ecs.update_service(cluster=env["ClusterName"], service="jobs",
                              taskDefinition="jobs:2")["service"]["deployments"][0]["id"]
    arns = wait_for(lambda: ecs.list_tasks(cluster=env["ClusterName"], serviceName="jobs",
                                           desiredStatus="STOPPED")["taskArns"])
    assert set(arns) <= set(ecs.list_tasks(cluster=env["ClusterName"], startedBy=ours,
                                           desiredStatus="STOPPED")["taskArns"])
    task = ecs.describe_tasks(cluster=env["ClusterName"], tasks=arns[:1])["tasks"][0]
    assert task["lastStatus"] == task["desiredStatus"] == "STOPPED"
    assert task["stoppedReason"] == "Essential container in task exited"
    assert task["taskDefinitionArn"] == broken["taskDefinitionArn"]
    assert task["startedBy"] == ours and task["group"] == "service:jobs"
    container = task["containers"][0]
    assert (container["name"], container["exitCode"], container["reason"]) == ("app", 1, FAILURE)

    task_id = task["taskArn"].rsplit("/", 1)[1]
    events = logs.get_log_events(logGroupName=env["LogGroupName"],
                                 logStreamName=f"jobs/app/{task_id}")["events"]
    text = "\n".join(e["message"] for e in events)
    assert FAILURE in text and "exited with code 1" in text


def test_mark_broken_by_image_over_control_endpoint(aws, env):
    ecs = client(aws, "ecs")
    healthy_service(ecs, env, "img", breaker={"enable": True, "rollback": False})
    control(aws, "broken", {"match": "registry/bad:*", "reason": "exit 3: bad image"})
    try:
        register(ecs, env, "img", image="registry/bad:7")
        ours = ecs.update_service(cluster=env["ClusterName"], service="img",
                                  taskDefinition="img:2")["service"]["deployments"][0]["id"]
        failed = wait_for(lambda: (d := deployment(describe(ecs, env, "img"), ours))
                          and d["rolloutState"] == "FAILED" and d)
        svc = describe(ecs, env, "img")
        # No rollback: the failed deployment stays PRIMARY, the old one keeps serving.
        assert svc["deployments"][0]["id"] == ours and failed["status"] == "PRIMARY"
        assert svc["taskDefinition"].endswith("task-definition/img:2") and svc["runningCount"] == 2
        arn = ecs.list_tasks(cluster=env["ClusterName"], startedBy=ours, desiredStatus="STOPPED")["taskArns"][0]
        container = ecs.describe_tasks(cluster=env["ClusterName"], tasks=[arn])["tasks"][0]["containers"][0]
        assert container["reason"] == "exit 3: bad image" and container["exitCode"] == 1
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{aws.endpoint}/_localaws/broken", method="DELETE"))


# ---- task definitions ---------------------------------------------------------------------
def test_list_task_definitions_sorts_filters_and_pages(aws, env):
    ecs = client(aws, "ecs")
    for _ in range(3):
        register(ecs, env, "lister")
    ecs.deregister_task_definition(taskDefinition="lister:2")
    desc = ecs.list_task_definitions(familyPrefix="lister", sort="DESC")["taskDefinitionArns"]
    assert [a.rsplit(":", 1)[1] for a in desc] == ["3", "1"]
    inactive = ecs.list_task_definitions(familyPrefix="lister", status="INACTIVE")["taskDefinitionArns"]
    assert [a.rsplit(":", 1)[1] for a in inactive] == ["2"]
    page = ecs.list_task_definitions(familyPrefix="lister", sort="DESC", maxResults=1)
    assert page["taskDefinitionArns"] == desc[:1] and page["nextToken"]
    rest = ecs.list_task_definitions(familyPrefix="lister", sort="DESC", maxResults=1,
                                     nextToken=page["nextToken"])
    assert rest["taskDefinitionArns"] == desc[1:] and "nextToken" not in rest


# ---- faults and counters ------------------------------------------------------------------
def test_fault_injection_rate_kinds_and_counters(aws, env):
    ecs = client(aws, "ecs", retries={"total_max_attempts": 1, "mode": "standard"})
    cfn = client(aws, "cloudformation", retries={"total_max_attempts": 1, "mode": "standard"})
    control(aws, "counters", {})  # POST = read and reset
    control(aws, "config", {"fault_rate": 0.3, "fault_kinds": ["throttle"], "seed": 7})
    try:
        throttled = 0
        for _ in range(200):
            try:
                ecs.list_clusters()
            except botocore.exceptions.ClientError as exc:
                assert exc.response["Error"]["Code"] == "ThrottlingException"
                assert exc.response["Error"]["Message"] == "Rate exceeded"
                assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
                throttled += 1
        assert 40 <= throttled <= 80  # 30 % of 200, give or take
        row = control(aws, "counters")["ecs"]["ListClusters"]
        assert row == {"requests": 200, "faulted": throttled, "succeeded": 200 - throttled, "failed": 0}

        # CloudFormation answers in its query/XML form.
        control(aws, "config", {"fault_rate": 1.0})
        with pytest.raises(botocore.exceptions.ClientError) as cfn_error:
            cfn.describe_stacks(StackName=env["stack"])
        assert cfn_error.value.response["Error"]["Code"] == "Throttling"

        control(aws, "config", {"fault_kinds": ["error500"]})
        with pytest.raises(botocore.exceptions.ClientError) as server_error:
            ecs.list_clusters()
        assert server_error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500

        control(aws, "config", {"fault_kinds": ["drop"]})
        with pytest.raises((botocore.exceptions.ConnectionClosedError,
                            botocore.exceptions.EndpointConnectionError)):
            ecs.list_clusters()

        # Only the chosen operations fail; the others count as usual.
        control(aws, "config", {"fault_kinds": ["throttle"], "fault_operations": ["DescribeServices"]})
        register(ecs, env, "counted")
        counters = control(aws, "counters")
        assert counters["ecs"]["RegisterTaskDefinition"]["succeeded"] == 1
    finally:
        control(aws, "config", {"fault_rate": 0.0, "fault_operations": None})


# ---- the admins' environment --------------------------------------------------------------
def test_platform_stack_has_every_output(aws, env):
    assert re.fullmatch(r"AWSProton-prod-cloudformation--[A-Z]{10}", env["stack"])
    stack = client(aws, "cloudformation").describe_stacks(StackName=env["stack"])["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert sorted(o["OutputKey"] for o in stack["Outputs"]) == sorted(OUTPUT_NAMES)
    ec2, elbv2 = client(aws, "ec2"), client(aws, "elbv2")
    dns = ec2.describe_vpc_attribute(VpcId=env["VpcId"], Attribute="enableDnsHostnames")
    assert dns["EnableDnsHostnames"]["Value"] is True
    tg = elbv2.describe_target_groups(TargetGroupArns=[env["TargetGroupArn"]])["TargetGroups"][0]
    assert (tg["TargetType"], tg["Port"], tg["HealthCheckProtocol"]) == ("ip", 8080, "HTTP")
    sg = ec2.describe_security_groups(GroupIds=[env["ServiceSecurityGroup"]])["SecurityGroups"][0]
    assert any(p.get("FromPort") == 8080 for p in sg["IpPermissions"])
    assert client(aws, "ecs").describe_clusters(clusters=[env["ClusterName"]])["clusters"][0]["status"] == "ACTIVE"
    repo = env["EcrRepositoryUri"].split("/", 1)[1]
    assert client(aws, "ecr").describe_repositories(repositoryNames=[repo])["repositories"]


def test_cli_serve_and_platform(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "tests.localaws", "serve", "--port", "0", "--tick", "0.1"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = proc.stdout.readline().strip()
        match = re.fullmatch(r"localaws ready on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        out = subprocess.run([sys.executable, "-m", "tests.localaws", "platform", "--endpoint", match[1],
                              "--env", "staging", "--name", "AWSProton-staging-cloudformation--ABCDEFGHIJ"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert out.stdout.strip() == "AWSProton-staging-cloudformation--ABCDEFGHIJ"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


# ---- the Service Deployments API, stale reads, alarms, bursts -------------------------------
def service_deployment_of(ecs, env, name, ecs_td_arn):
    """The service deployment whose target revision runs `ecs_td_arn` (newest first)."""
    briefs = ecs.list_service_deployments(cluster=env["ClusterName"], service=name)["serviceDeployments"]
    for brief in briefs:
        revision = ecs.describe_service_revisions(serviceRevisionArns=[brief["targetServiceRevisionArn"]])["serviceRevisions"][0]
        if revision["taskDefinition"] == ecs_td_arn:
            return ecs.describe_service_deployments(serviceDeploymentArns=[brief["serviceDeploymentArn"]])["serviceDeployments"][0]
    return None


def test_service_deployments_record_success_and_the_breakers_rollback(aws, env):
    ecs = client(aws, "ecs")
    good = healthy_service(ecs, env, "sd", breaker={"enable": True, "rollback": True})
    first = service_deployment_of(ecs, env, "sd", good["taskDefinitionArn"])
    assert first["status"] == "SUCCESSFUL" and first["finishedAt"] >= first["startedAt"]
    assert first["deploymentCircuitBreaker"] == {"status": "MONITORING_COMPLETE", "failureCount": 0, "threshold": 3}
    assert first["alarms"]["status"] == "DISABLED" and first["sourceServiceRevisions"] == []
    assert first["targetServiceRevision"]["runningTaskCount"] == 2
    revision = ecs.describe_service_revisions(serviceRevisionArns=[first["targetServiceRevision"]["arn"]])["serviceRevisions"][0]
    assert revision["networkConfiguration"]["awsvpcConfiguration"]["subnets"] and revision["loadBalancers"]
    assert re.fullmatch(r"arn:aws:ecs:us-east-1:123456789012:service-deployment/[\w-]+/sd/[\w-]{21}", first["serviceDeploymentArn"])
    # DescribeServices names the current service deployment.
    assert describe(ecs, env, "sd")["currentServiceDeployment"] == first["serviceDeploymentArn"]

    time.sleep(1)  # createdAt filters have whole-second precision
    before_update = time.time()
    broken = register(ecs, env, "sd", failure=FAILURE)
    ecs.update_service(cluster=env["ClusterName"], service="sd", taskDefinition="sd:2")
    # Filters: createdAt after the update finds only the new one; status filters.
    new = ecs.list_service_deployments(cluster=env["ClusterName"], service="sd", createdAt={"after": before_update})["serviceDeployments"]
    assert len(new) == 1 and new[0]["status"] == "IN_PROGRESS"
    assert ecs.list_service_deployments(cluster=env["ClusterName"], service="sd", status=["SUCCESSFUL"])["serviceDeployments"][0]["serviceDeploymentArn"] == first["serviceDeploymentArn"]
    arn = new[0]["serviceDeploymentArn"]
    done = wait_for(lambda: (d := ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0])["status"] == "ROLLBACK_SUCCESSFUL" and d)
    assert done["rollback"]["reason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert done["rollback"]["serviceRevisionArn"] == first["targetServiceRevision"]["arn"]
    assert done["deploymentCircuitBreaker"]["status"] == "TRIGGERED" and done["deploymentCircuitBreaker"]["failureCount"] >= 3
    assert done["sourceServiceRevisions"][0]["arn"] == first["targetServiceRevision"]["arn"]
    assert describe(ecs, env, "sd")["taskDefinition"] == good["taskDefinitionArn"]
    assert broken["revision"] == 2
    missing = ecs.describe_service_deployments(serviceDeploymentArns=[arn + "x"])
    assert missing["failures"] == [{"arn": arn + "x", "reason": "MISSING"}]


def test_stop_service_deployment_rolls_back_the_whole_service_revision(aws, env):
    ecs = client(aws, "ecs")
    healthy_service(ecs, env, "stopme")
    register(ecs, env, "stopme", failure=FAILURE)  # no breaker: it would stay IN_PROGRESS forever
    other_net = {"awsvpcConfiguration": {"subnets": [env["PrivateSubnet2"]], "securityGroups": [env["ServiceSecurityGroup"]], "assignPublicIp": "DISABLED"}}
    updated = ecs.update_service(cluster=env["ClusterName"], service="stopme", taskDefinition="stopme:2", networkConfiguration=other_net)["service"]
    arn = updated["currentServiceDeployment"]
    ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    record = wait_for(lambda: (d := ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0])["status"] == "ROLLBACK_SUCCESSFUL" and d)
    assert "StopServiceDeployment" in record["rollback"]["reason"]
    svc = describe(ecs, env, "stopme")
    assert svc["taskDefinition"].endswith("stopme:1")
    assert svc["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == [env["PrivateSubnet1"], env["PrivateSubnet2"]]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert err.value.response["Error"]["Code"] == "ConflictException"


def test_a_newer_deployment_stops_the_one_in_progress(aws, env):
    ecs = client(aws, "ecs")
    healthy_service(ecs, env, "twice")
    aws.configure(tick=1.0)
    try:
        register(ecs, env, "twice", image="app:2")
        register(ecs, env, "twice", image="app:3")
        first = ecs.update_service(cluster=env["ClusterName"], service="twice", taskDefinition="twice:2")["service"]["currentServiceDeployment"]
        ecs.update_service(cluster=env["ClusterName"], service="twice", taskDefinition="twice:3")
        record = ecs.describe_service_deployments(serviceDeploymentArns=[first])["serviceDeployments"][0]
        assert record["status"] == "STOPPED" and "newer deployment" in record["statusReason"]
    finally:
        aws.configure(tick=0.05)


def test_service_deployments_api_off_switch(aws, env):
    ecs = client(aws, "ecs", retries={"max_attempts": 1})
    healthy_service(ecs, env, "offapi")
    try:
        for mode, code in (("denied", "AccessDeniedException"), ("unknown", "UnknownOperationException")):
            control(aws, "config", {"service_deployments_api": mode})
            with pytest.raises(botocore.exceptions.ClientError) as err:
                ecs.list_service_deployments(cluster=env["ClusterName"], service="offapi")
            assert err.value.response["Error"]["Code"] == code
        with pytest.raises(ValueError):
            aws.configure(service_deployments_api="maybe")
    finally:
        aws.configure(service_deployments_api="on")


def test_stale_reads_after_update_service(aws, env):
    ecs = client(aws, "ecs")
    healthy_service(ecs, env, "stale")
    before = describe(ecs, env, "stale")
    register(ecs, env, "stale", image="app:2")
    aws.configure(stale_read_polls=2)
    try:
        updated = ecs.update_service(cluster=env["ClusterName"], service="stale", taskDefinition="stale:2")["service"]
        new_id = updated["deployments"][0]["id"]
        # Two answers show the service as it was, then the new PRIMARY appears.
        for _ in range(2):
            assert [d["id"] for d in describe(ecs, env, "stale")["deployments"]] == [d["id"] for d in before["deployments"]]
        assert describe(ecs, env, "stale")["deployments"][0]["id"] == new_id
    finally:
        aws.configure(stale_read_polls=0)


def test_alarm_in_alarm_mid_rollout_fails_and_rolls_back(aws, env):
    ecs, cw = client(aws, "ecs"), client(aws, "cloudwatch")
    cw.put_metric_alarm(AlarmName="web-5xx", MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    cw.put_metric_alarm(AlarmName="already-red", MetricName="CPU", Namespace="AWS/ECS", Statistic="Average", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName="already-red", StateValue="ALARM", StateReason="test")
    td = register(ecs, env, "alarmed")
    create_service(ecs, env, "alarmed", "alarmed:1")
    alarms = {"alarmNames": ["web-5xx", "already-red"], "enable": True, "rollback": True}
    ecs.update_service(cluster=env["ClusterName"], service="alarmed", deploymentConfiguration={
        "deploymentCircuitBreaker": {"enable": False, "rollback": False}, "maximumPercent": 200, "minimumHealthyPercent": 100, "alarms": alarms})
    wait_for(lambda: describe(ecs, env, "alarmed")["deployments"][0]["rolloutState"] == "COMPLETED")
    aws.configure(alarm_bake_seconds=30)
    try:
        register(ecs, env, "alarmed", image="app:2")
        arn = ecs.update_service(cluster=env["ClusterName"], service="alarmed", taskDefinition="alarmed:2")["service"]["currentServiceDeployment"]
        # Tasks run, then the deployment bakes (IN_PROGRESS): an alarm fires.
        wait_for(lambda: ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]["lifecycleStage"] == "BAKE_TIME")
        cw.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="5xx")
        record = wait_for(lambda: (d := ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0])["status"] == "ROLLBACK_SUCCESSFUL" and d)
    finally:
        aws.configure(alarm_bake_seconds=0)
    # The alarm already in ALARM at the start is ignored, as ECS does.
    assert record["alarms"] == {"status": "TRIGGERED", "alarmNames": ["web-5xx", "already-red"], "triggeredAlarmNames": ["web-5xx"]}
    assert "web-5xx" in record["rollback"]["reason"]
    assert describe(ecs, env, "alarmed")["taskDefinition"] == td["taskDefinitionArn"]


def test_desired_count_zero_completes_at_once(aws, env):
    ecs = client(aws, "ecs")
    register(ecs, env, "zero")
    create_service(ecs, env, "zero", "zero:1", desired=0)
    svc = wait_for(lambda: (s := describe(ecs, env, "zero"))["deployments"][0]["rolloutState"] == "COMPLETED" and s)
    assert svc["runningCount"] == 0
    assert ecs.list_tasks(cluster=env["ClusterName"], serviceName="zero", desiredStatus="STOPPED")["taskArns"] == []


def test_throttling_burst(aws, env):
    ecs = client(aws, "ecs", retries={"max_attempts": 1})
    healthy_service(ecs, env, "burst")
    ends = time.time() + 3.0  # long enough that a slow request on a busy machine still falls inside it
    aws.burst(3.0, operations=["DescribeServices"])
    try:
        with pytest.raises(botocore.exceptions.ClientError) as err:
            describe(ecs, env, "burst")
        assert err.value.response["Error"]["Code"] == "ThrottlingException"
        ecs.list_services(cluster=env["ClusterName"])  # other operations answer
        time.sleep(max(0.0, ends - time.time()) + 0.1)  # the burst is over: DescribeServices answers again
        assert describe(ecs, env, "burst")
    finally:
        aws.configure(burst_until=None, fault_operations=None)
