"""plan → execute → watch → verdict in one process, against FakeEcs: a fake of the ECS adapter
(deployer.aws.ecs.Ecs) that keeps services and task definitions in memory and plays each deployment's
rollout one DescribeServices at a time. No AWS, no emulator, no subprocess: what the end-to-end tests
(tests/e2e/test_e2e_deploy.py, test_e2e_verdicts.py) show through the real command, here at the
level of deployer/release/plan.py, deployer/release/execute.py, deployer/release/rollout.py and deployer/release/deploy.py.
"""

from __future__ import annotations

import copy
import io
from types import SimpleNamespace

import pytest

from deployer.release import execute, deploy as pipeline, rollout
from deployer.core.console import Console
from deployer.aws.ecs import TAG_HEALTHY, ApiUnavailable, Revision, arn_family, arn_revision, short_name
from deployer.core.errors import DeploymentFailed
from deployer.release.plan import REGISTERED, plan_service

CLUSTER = "demo"
ACCOUNT = "arn:aws:ecs:us-east-1:123456789012"
SERVICE_ARN = f"{ACCOUNT}:service/{CLUSTER}/web"
WEB1, WEB2 = f"{ACCOUNT}:task-definition/web:1", f"{ACCOUNT}:task-definition/web:2"
WRITES = {"register", "create_service", "update_service", "stop_service_deployment", "tag", "deregister"}


class FakeEcs:
    """A FAKE of deployer.aws.ecs.Ecs (the ECS adapter), not a mock of boto3: the methods plan, execute,
    rollout and pipeline call, on services and revisions held here.

    Each deployment a call starts gets the next fate from `fates` (default "complete"); it moves on
    each DescribeServices, and after `ticks` of them:
      complete  COMPLETED: the service runs its revision, the older deployments are gone
      fail      FAILED (an alarm, no circuit breaker): the service stays on it, nothing rolls back
      breaker   FAILED by the circuit breaker: ECS starts its own rollback to the revision before
                (a PRIMARY deployment saying "rolling back", and the failure event), which completes
    The Service Deployments API is absent (ApiUnavailable): the verdict comes from DescribeServices.
    `calls` records every call (name, first argument); `writes` only the ones that change ECS."""

    def __init__(self, *fates: str, ticks: int = 2):
        self.aws = None  # plan.comparable_live reads a Cloud Map namespace through it only when given
        self.fates = list(fates)
        self.ticks = ticks
        self.calls: list[tuple[str, object]] = []
        self.services: dict[str, dict] = {}
        self.revisions: dict[str, Revision] = {}
        self._deployments = 0

    @property
    def writes(self) -> list[tuple[str, object]]:
        return [call for call in self.calls if call[0] in WRITES]

    # ---- task definitions
    def register(self, params: dict, tags: dict[str, str]) -> str:
        self.calls.append(("register", params["family"]))
        family = params["family"]
        number = 1 + max((r.revision for r in self.revisions.values() if r.family == family), default=0)
        arn = f"{ACCOUNT}:task-definition/{family}:{number}"
        definition = {**copy.deepcopy(params), "taskDefinitionArn": arn, "revision": number, "status": "ACTIVE"}
        self.revisions[arn] = Revision(arn, family, number, "ACTIVE", definition, dict(tags))
        return arn

    def revision(self, ref: str) -> Revision:
        self.calls.append(("revision", ref))
        return self.revisions[ref]

    def revision_arns(self, family: str, status: str = "ACTIVE") -> list[str]:
        self.calls.append(("revision_arns", family))
        arns = [a for a, r in self.revisions.items() if arn_family(a) == family and r.status == status]
        return sorted(arns, key=arn_revision, reverse=True)

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        self.calls.append(("tag", arn))
        if arn in self.revisions:
            revision = self.revisions[arn]
            self.revisions[arn] = Revision(revision.arn, revision.family, revision.revision, revision.status,
                                           revision.definition, {**revision.tags, **tags})

    def deregister(self, arn: str) -> None:  # pragma: no cover - no release deregisters
        self.calls.append(("deregister", arn))

    # ---- services
    def describe_services(self, cluster: str, names: list[str], *, attempts: int | None = None) -> dict[str, dict | None]:
        self.calls.append(("describe_services", tuple(names)))
        for name in names:
            if name in self.services:
                self._tick(self.services[name])
        return {name: copy.deepcopy(self.services.get(name)) for name in names}

    def describe_service(self, cluster: str, name: str) -> dict | None:
        return self.describe_services(cluster, [name])[name]

    def create_service(self, cluster: str, params: dict, task_definition: str) -> dict:
        self.calls.append(("create_service", params["serviceName"]))
        service = {"serviceName": params["serviceName"], "serviceArn": f"{ACCOUNT}:service/{cluster}/{params['serviceName']}",
                   "status": "ACTIVE", "desiredCount": params.get("desiredCount", 1), "runningCount": 0,
                   "deploymentController": {"type": "ECS"}, "deployments": [], "events": []}
        self.services[service["serviceName"]] = service
        self._start(service, task_definition)
        return copy.deepcopy(service)

    def update_service(self, cluster: str, service: str, params: dict, task_definition: str | None = None) -> dict:
        self.calls.append(("update_service", service))
        live = self.services[service]
        live.update(copy.deepcopy(params))
        self._start(live, task_definition or live["taskDefinition"])
        return copy.deepcopy(live)

    def service_tags(self, service_arn: str) -> dict[str, str]:
        return {}

    # ---- the Service Deployments API: not here
    def service_deployments_since(self, cluster: str, service: str, after: float) -> list[dict]:
        raise ApiUnavailable("FakeEcs has no Service Deployments API")

    def service_deployments(self, arns: list[str]) -> dict[str, dict]:
        raise ApiUnavailable("FakeEcs has no Service Deployments API")

    def service_revisions(self, arns: list[str]) -> dict[str, dict]:
        raise ApiUnavailable("FakeEcs has no Service Deployments API")

    def stop_service_deployment(self, arn: str) -> None:
        self.calls.append(("stop_service_deployment", arn))
        raise ApiUnavailable("FakeEcs has no Service Deployments API")

    # ---- a deployment's life
    def _start(self, service: dict, task_definition: str, *, fate: str | None = None, reason: str | None = None) -> dict:
        self._deployments += 1
        for other in service["deployments"]:
            other["status"] = "ACTIVE"
        deployment = {"id": f"ecs-svc/{self._deployments}", "status": "PRIMARY", "taskDefinition": task_definition,
                      "rolloutState": "IN_PROGRESS", "rolloutStateReason": reason or "ECS deployment in progress.",
                      "desiredCount": service["desiredCount"], "runningCount": 0, "failedTasks": 0,
                      "fate": fate or (self.fates.pop(0) if self.fates else "complete"), "age": 0}
        service["deployments"].insert(0, deployment)
        service["taskDefinition"] = task_definition
        return deployment

    def _tick(self, service: dict) -> None:
        for deployment in list(service["deployments"]):
            if deployment["rolloutState"] != "IN_PROGRESS":
                continue
            deployment["age"] += 1
            if deployment["age"] < self.ticks:
                continue
            if deployment["fate"] == "complete":
                deployment.update(rolloutState="COMPLETED", rolloutStateReason="ECS deployment completed.",
                                  runningCount=deployment["desiredCount"])
                service["deployments"] = [deployment]
                service["runningCount"] = deployment["desiredCount"]
            elif deployment["fate"] == "fail":
                deployment.update(rolloutState="FAILED", rolloutStateReason="alarm web-5xx is in ALARM.")
            elif deployment["fate"] == "breaker":
                before = next(d["taskDefinition"] for d in service["deployments"] if d is not deployment)
                deployment.update(rolloutState="FAILED", failedTasks=3,
                                  rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.")
                service["events"].insert(0, {"id": f"event-{deployment['id']}", "message":
                                             f"(service {service['serviceName']}) (deployment {deployment['id']}) deployment failed: tasks failed to start."})
                self._start(service, before, fate="complete",
                            reason=f"ECS deployment circuit breaker: rolling back to deploymentId {deployment['id']}.")


# ---------------------------------------------------------------- what a release is made of


TASK_DEFINITION = {"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
                   "containerDefinitions": [{"name": "app", "image": "web:v1", "essential": True,
                                             "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]}]}


def rendered(image: str = "web:v1", desired: int = 2) -> SimpleNamespace:
    """What deployer/manifest/render.py hands the pipeline for one service (the fields plan and pipeline read)."""
    task_definition = copy.deepcopy(TASK_DEFINITION)
    task_definition["containerDefinitions"][0]["image"] = image
    return SimpleNamespace(
        service=SimpleNamespace(name="web", family="web"), task_definition=task_definition, image=image,
        service_definition=SimpleNamespace(create_params={"serviceName": "web", "desiredCount": desired, "launchType": "FARGATE"},
                                           update_params={"desiredCount": desired}))


def fake_run(ecs: FakeEcs, *, dry_run: bool = False, rollback_on_failure: bool = True) -> SimpleNamespace:
    """The parts of the run (deployer.release.context.Target) that the pipeline reads."""
    console = Console(stream=io.StringIO())
    return SimpleNamespace(
        ecs=ecs, aws=None, timeout=60, environment=SimpleNamespace(cluster=CLUSTER), console=console, secrets=console.secrets,
        options=SimpleNamespace(dry_run=dry_run, no_wait=False, wait_until=None, timeout=60),
        scheduler=SimpleNamespace(names=lambda prefix=None: []),  # no schedule of the app
        config=SimpleNamespace(app="web", schedules=[], deploy=SimpleNamespace(rollback_on_failure=rollback_on_failure, timeout=60, timeout_set=False)))


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    """The watch's poll interval, made instant: FakeEcs moves one step per DescribeServices."""
    monkeypatch.setattr(rollout, "FIRST_INTERVAL", 0.0)
    monkeypatch.setattr(rollout, "MAX_INTERVAL", 0.0)
    monkeypatch.setattr(rollout, "STRETCH", 0.0)


def deploy(ecs: FakeEcs, image: str, **run_options) -> dict:
    return pipeline.deploy(fake_run(ecs, **run_options), [rendered(image)], tags={"deployer:image": image}, preflight=False)


def deployed(image: str = "web:v1") -> FakeEcs:
    """A FakeEcs where web runs `image` (its first release, completed and tagged healthy)."""
    ecs = FakeEcs()
    assert deploy(ecs, image)["status"] == "deployed"
    ecs.calls.clear()
    return ecs


def plan(ecs: FakeEcs, image: str, **kwargs):
    live = ecs.describe_service(CLUSTER, "web")
    r = rendered(image)
    return plan_service(ecs, cluster=CLUSTER, service_name="web", family="web", task_def=r.task_definition,
                        service_def=r.service_definition, live=live, tags={"deployer:image": image}, **kwargs)


# ---------------------------------------------------------------- plan


def test_plan_of_a_new_service_registers_then_creates_it():
    p = plan(FakeEcs(), "web:v1")
    assert p.action == "create" and p.previous_task_definition is None and p.rollback_target is None
    assert [s.call for s in p.steps] == ["ecs.RegisterTaskDefinition", "ecs.CreateService"]
    assert p.steps[1].params["taskDefinition"] == REGISTERED and p.steps[1].params["serviceName"] == "web"


def test_plan_of_a_new_image_registers_and_updates_and_records_where_to_roll_back():
    ecs = deployed("web:v1")
    p = plan(ecs, "web:v2")
    assert p.action == "update" and short_name(p.previous_task_definition) == "web:1"
    assert short_name(p.rollback_target) == "web:1"  # what ran, settled, before this run
    assert [s.call for s in p.steps] == ["ecs.RegisterTaskDefinition", "ecs.UpdateService"]
    assert p.steps[0].params["containerDefinitions"][0]["image"] == "web:v2"
    assert p.steps[1].params["taskDefinition"] == REGISTERED and p.steps[1].why == "new revision"


def test_plan_of_what_already_runs_is_no_change_and_no_step():
    ecs = deployed("web:v1")
    p = plan(ecs, "web:v1")
    assert p.action == "none" and p.steps == [] and "already deployed: web runs web:1" in p.reason
    assert ecs.writes == []


def test_plan_of_a_changed_setting_alone_updates_without_registering():
    ecs = deployed("web:v1")
    live = ecs.describe_service(CLUSTER, "web")
    r = rendered("web:v1", desired=3)
    p = plan_service(ecs, cluster=CLUSTER, service_name="web", family="web", task_def=r.task_definition,
                     service_def=r.service_definition, live=live, tags={})
    assert p.action == "update" and not p.registers
    assert [s.call for s in p.steps] == ["ecs.UpdateService"] and "taskDefinition" not in p.steps[0].params
    assert p.changed_settings == {"desiredCount": {"live": 2, "wanted": 3}}


# ---------------------------------------------------------------- execute


def test_execute_runs_the_steps_in_order_and_sends_the_registered_revision():
    ecs = deployed("web:v1")
    p = plan(ecs, "web:v2")
    ecs.calls.clear()
    progress: dict = {}
    done = execute.run(ecs, p, Console(stream=io.StringIO()), progress=progress)
    assert ecs.writes == [("register", "web"), ("update_service", "web")]
    assert short_name(done.task_definition) == "web:2" and done.registered and progress["registered"] == done.task_definition
    assert done.service_after["taskDefinition"] == done.task_definition and done.deployment_id == "ecs-svc/2"


def test_a_dry_run_plans_and_writes_nothing():
    ecs = deployed("web:v1")
    result = deploy(ecs, "web:v2", dry_run=True)
    assert result["status"] == "planned" and ecs.writes == []
    assert [s["call"] for s in result["plan"][0]["steps"]] == ["ecs.RegisterTaskDefinition", "ecs.UpdateService"]
    assert set(ecs.revisions) == {WEB1}


def test_an_unchanged_release_writes_nothing():
    ecs = deployed("web:v1")
    assert deploy(ecs, "web:v1")["status"] == "unchanged" and ecs.writes == []


# ---------------------------------------------------------------- the verdict


def test_a_completed_deployment_is_deployed_and_its_revision_marked_healthy():
    ecs = deployed("web:v1")
    result = deploy(ecs, "web:v2")
    assert result["status"] == "deployed" and short_name(result["task_definition"]) == "web:2"
    assert result["services"][0]["verdict"] == "COMPLETED" and result["deployment_id"] == "ecs-svc/2"
    assert TAG_HEALTHY in ecs.revisions[result["task_definition"]].tags
    # the service tagged with the deployment this release started (`deployer wait`), then web:2 healthy
    assert ecs.writes == [("register", "web"), ("update_service", "web"), ("tag", SERVICE_ARN), ("tag", WEB2)]


def test_a_failed_deployment_is_rolled_back_by_deployer_to_the_revision_before():
    ecs = deployed("web:v1")
    ecs.fates = ["fail"]
    with pytest.raises(DeploymentFailed) as failed:
        deploy(ecs, "web:v2")
    result = failed.value.result
    assert result["status"] == "rolled_back"
    service = result["services"][0]
    assert service["verdict"] == "FAILED" and "alarm web-5xx is in ALARM" in service["reason"]
    assert short_name(service["rolled_back_to"]) == "web:1" and service["rollback_state"] == "COMPLETED"
    # deployer's own rollback: UpdateService back to web:1 (no Service Deployments API to stop it with)
    assert ecs.writes == [("register", "web"), ("update_service", "web"), ("tag", SERVICE_ARN), ("update_service", "web")]
    assert ecs.services["web"]["taskDefinition"] == WEB1 and TAG_HEALTHY not in ecs.revisions[WEB2].tags
    assert "web rolled back to web:1" in str(failed.value)


def test_a_deployment_ecs_rolled_back_is_followed_not_rolled_back_again():
    ecs = deployed("web:v1")
    ecs.fates = ["breaker"]
    with pytest.raises(DeploymentFailed) as failed:
        deploy(ecs, "web:v2")
    service = failed.value.result["services"][0]
    assert failed.value.result["status"] == "rolled_back"
    assert service["verdict"] == "ROLLED_BACK_BY_ECS"
    assert service["reason"] == "ECS deployment circuit breaker: tasks failed to start; ECS is rolling back to web:1"
    assert short_name(service["rolled_back_to"]) == "web:1" and service["rollback_state"] == "COMPLETED"
    # ECS rolled back on its own: followed to the end, no second UpdateService
    assert ecs.writes == [("register", "web"), ("update_service", "web"), ("tag", SERVICE_ARN)]
    assert ecs.services["web"]["taskDefinition"] == WEB1 and TAG_HEALTHY not in ecs.revisions[WEB2].tags


def test_a_failure_with_rollback_off_leaves_the_service_where_it_is():
    ecs = deployed("web:v1")
    ecs.fates = ["fail"]
    with pytest.raises(DeploymentFailed) as failed:
        deploy(ecs, "web:v2", rollback_on_failure=False)
    assert failed.value.result["status"] == "failed" and failed.value.result["services"][0]["rolled_back_to"] is None
    assert ecs.writes == [("register", "web"), ("update_service", "web"), ("tag", SERVICE_ARN)]
    assert ecs.services["web"]["taskDefinition"] == WEB2


def test_the_watch_alone_gives_the_verdict_the_deployment_earns():
    ecs = deployed("web:v1")
    ecs.fates = ["breaker"]
    p = plan(ecs, "web:v2")
    done = execute.run(ecs, p, Console(stream=io.StringIO()))
    target = rollout.Target("web", done.deployment_id, done.task_definition)
    verdicts = rollout.watch(ecs, CLUSTER, [target], timeout=30, console=Console(stream=io.StringIO()))
    verdict = verdicts["web"]
    assert not verdict.ok and verdict.state == "ROLLED_BACK_BY_ECS" and verdict.failed_tasks == 3
    assert short_name(verdict.ecs_rollback_task_definition) == "web:1" and verdict.ecs_rollback_deployment == "ecs-svc/3"
