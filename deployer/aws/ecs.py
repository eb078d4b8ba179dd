"""Thin adapter over the ECS API: the calls the stages need, errors translated, plain dicts out."""

from __future__ import annotations

from dataclasses import dataclass

from .session import Aws, error_code, is_transient, retry_transient, translate_errors
from ..core.errors import BadInput, ExternalError

TAG_IMAGE = "deployer:image"
TAG_COMMIT = "deployer:commit"
TAG_HEALTHY = "deployer:healthy"  # set once a deployment of the revision reached the success verdict
TAG_SERVICE = "deployer:service"
TAG_PROMOTED_FROM = "deployer:promoted-from"  # <source env>:<family>:<revision> of a revision `deployer promote` registered
TAG_TOKEN = "deployer:token"  # one per registration: makes retried registrations idempotent
# On the service, written right after the UpdateService/CreateService of a release: the deployment it
# started, the revision it sent, when (epoch seconds). `deployer wait` judges that deployment.
TAG_DEPLOYMENT = "deployer:deployment"
TAG_DEPLOYMENT_TARGET = "deployer:deployment-target"
TAG_DEPLOYMENT_STARTED = "deployer:deployment-started"
# Errors that mean: this account, role or endpoint has no Service Deployments API.
API_UNAVAILABLE_CODES = {"AccessDeniedException", "AccessDenied", "UnknownOperationException", "UnsupportedFeatureException",
                         "UnrecognizedClientException", "InvalidAction", "NotImplemented"}


class ApiUnavailable(Exception):
    """The Service Deployments API is denied or absent here: judge from DescribeServices."""


@dataclass(frozen=True)
class Revision:
    arn: str
    family: str
    revision: int
    status: str
    definition: dict
    tags: dict[str, str]

    @property
    def healthy(self) -> bool:
        return TAG_HEALTHY in self.tags

    @property
    def image(self) -> str | None:
        return self.tags.get(TAG_IMAGE)

    @property
    def commit(self) -> str | None:
        return self.tags.get(TAG_COMMIT)

    def container(self, name: str) -> dict | None:
        return next((c for c in self.definition.get("containerDefinitions", []) if c.get("name") == name), None)

    def container_image(self, name: str) -> str | None:
        return (self.container(name) or {}).get("image")


class DeploymentsDenied(ExternalError):
    """The Service Deployments API is denied to this role, or unknown to this endpoint."""


class ClusterNotFound(BadInput):
    """DescribeServices: ClusterNotFoundException. Bad input before a release writes; during the watch,
    the cluster was deleted under it (the watch gives its verdict)."""


class Ecs:
    def __init__(self, aws: Aws):
        self.aws = aws

    @property
    def client(self):
        return self.aws.client("ecs")

    def describe_services(self, cluster: str, names: list[str], *, attempts: int | None = None) -> dict[str, dict | None]:
        """One DescribeServices call for up to 10 services; INACTIVE/missing services map to None.

        attempts=1 for the rollout watch: its own next poll is the retry, at the poll's pace.
        """
        found: dict[str, dict | None] = {name: None for name in names}
        client = self.aws.client("ecs", attempts=attempts) if attempts else self.client
        for start in range(0, len(names), 10):
            chunk = names[start : start + 10]
            with translate_errors(f"describing services {', '.join(chunk)} in cluster {cluster}"):
                try:
                    response = client.describe_services(cluster=cluster, services=chunk)
                except Exception as exc:
                    if error_code(exc) == "ClusterNotFoundException":
                        raise ClusterNotFound(f"environment cluster `{cluster}` does not exist") from None
                    raise
            for svc in response.get("services", []):
                if svc.get("status") != "INACTIVE":
                    found[svc["serviceName"]] = svc
        return found

    def describe_service(self, cluster: str, name: str) -> dict | None:
        return self.describe_services(cluster, [name])[name]

    def revision(self, ref: str) -> Revision:
        """ref: ARN or family:revision. A missing revision is bad input (exit 2)."""
        try:
            response = self.client.describe_task_definition(taskDefinition=ref, include=["TAGS"])
        except Exception as exc:  # noqa: BLE001
            if error_code(exc) in ("ClientException", "InvalidParameterException"):
                raise BadInput(f"task definition `{ref}` not found: {exc}") from None
            with translate_errors(f"describing task definition {ref}"):
                raise
        td = response["taskDefinition"]
        tags = {t["key"]: t["value"] for t in response.get("tags", []) or []}
        return Revision(
            arn=td["taskDefinitionArn"],
            family=td["family"],
            revision=int(td["revision"]),
            status=td.get("status", "ACTIVE"),
            definition=td,
            tags=tags,
        )

    def active_revision(self, family: str, number: int, flag: str) -> Revision:
        """family:number, which ECS can still run (a deregistered revision is bad input naming the flag)."""
        rev = self.revision(f"{family}:{number}")
        if rev.status != "ACTIVE":
            raise BadInput(f"{flag} {number}: {family}:{number} is {rev.status} (deregistered); ECS cannot run it again")
        return rev

    def revision_arns(self, family: str, status: str = "ACTIVE") -> list[str]:
        """Revisions of a family, newest first (sorted here: not every endpoint honours sort=DESC)."""
        arns: list[str] = []
        with translate_errors(f"listing revisions of {family}"):
            paginator = self.client.get_paginator("list_task_definitions")
            for page in paginator.paginate(familyPrefix=family, status=status, sort="DESC"):
                arns.extend(a for a in page.get("taskDefinitionArns", []) if arn_family(a) == family)
        return sorted(set(arns), key=arn_revision, reverse=True)

    def register(self, params: dict, tags: dict[str, str]) -> str:
        """RegisterTaskDefinition is not idempotent: a retry after a lost answer would add a revision.

        Each registration carries a one-off token tag; before retrying, the newest revisions are
        searched for it, so a registration that did succeed is used instead of made twice.
        """
        import uuid

        token = uuid.uuid4().hex
        tag_list = [{"key": k, "value": v} for k, v in {**tags, TAG_TOKEN: token}.items() if v]
        client = self.aws.client("ecs", attempts=1)  # retries are ours, with the token check

        def call():
            return client.register_task_definition(**params, tags=tag_list)["taskDefinition"]["taskDefinitionArn"]

        def already_registered():
            return self._find_token(params["family"], token)

        with translate_errors(f"registering task definition {params.get('family')}"):
            return retry_transient(call, before_retry=already_registered)

    def _find_token(self, family: str, token: str, newest: int = 5) -> str | None:
        try:
            arns = self.client.list_task_definitions(familyPrefix=family, sort="DESC", maxResults=newest).get("taskDefinitionArns", [])
            for arn in sorted(arns, key=arn_revision, reverse=True)[:newest]:
                tags = self.client.describe_task_definition(taskDefinition=arn, include=["TAGS"]).get("tags", [])
                if any(t["key"] == TAG_TOKEN and t["value"] == token for t in tags):
                    return arn
        except Exception as exc:  # noqa: BLE001 - a failed look-up means: register again
            if not is_transient(exc):
                raise
        return None

    def create_service(self, cluster: str, params: dict, task_definition: str) -> dict:
        """With a clientToken, and a look before each retry: a lost answer must not fail the release."""
        import uuid

        name = params["serviceName"]
        client = self.aws.client("ecs", attempts=1)
        token = uuid.uuid4().hex  # the same on every attempt: that is what makes it idempotent

        def call():
            return client.create_service(cluster=cluster, taskDefinition=task_definition, clientToken=token, **params)["service"]

        def already_created():
            service = self.describe_service(cluster, name)
            return service if service and service.get("taskDefinition") == task_definition else None

        with translate_errors(f"creating service {name}"):
            return retry_transient(call, before_retry=already_created)

    def update_service(self, cluster: str, service: str, params: dict, task_definition: str | None = None) -> dict:
        kwargs = dict(params)
        if task_definition:
            kwargs["taskDefinition"] = task_definition
        with translate_errors(f"updating service {service}"):
            return self.client.update_service(cluster=cluster, service=service, **kwargs)["service"]

    # ---- the Service Deployments API (ECS's own record of each deployment) ---------------------------
    def _deployments_api(self, doing: str, call):
        """call(client) with the watch's client (attempts=1: the watch paces retries); ApiUnavailable when
        the API is denied or unknown, ExternalError (transient or not) otherwise."""
        client = self.aws.client("ecs", attempts=1)
        for method in ("list_service_deployments", "stop_service_deployment"):  # botocore >= 1.35.52 / 1.38
            if not hasattr(client, method):
                raise ApiUnavailable(f"this botocore ({__import__('botocore').__version__}) has no ecs.{method}")
        try:
            with translate_errors(doing):
                return call(client)
        except ExternalError as exc:
            if error_code(exc.__cause__) in API_UNAVAILABLE_CODES:
                raise ApiUnavailable(f"{error_code(exc.__cause__)}: {exc.__cause__}") from None
            raise

    def service_deployments_since(self, cluster: str, service: str, after: float) -> list[dict]:
        """ECS's deployments of a service created after `after` (epoch seconds), newest first."""
        from datetime import datetime, timezone

        since = datetime.fromtimestamp(after, timezone.utc)
        return self._deployments_api(
            f"listing the deployments of {service}",
            lambda c: c.list_service_deployments(cluster=cluster, service=service, createdAt={"after": since})["serviceDeployments"],
        )

    def service_deployments(self, arns: list[str]) -> dict[str, dict]:
        if not arns:
            return {}
        found = self._deployments_api("describing service deployments", lambda c: c.describe_service_deployments(serviceDeploymentArns=arns)["serviceDeployments"])
        return {d["serviceDeploymentArn"]: d for d in found}

    def service_revisions(self, arns: list[str]) -> dict[str, dict]:
        arns = [a for a in dict.fromkeys(arns) if a]
        if not arns:
            return {}
        found = self._deployments_api("describing service revisions", lambda c: c.describe_service_revisions(serviceRevisionArns=arns)["serviceRevisions"])
        return {r["serviceRevisionArn"]: r for r in found}

    def stop_service_deployment(self, arn: str) -> None:
        """ECS's own rollback of a deployment in progress: the whole service revision goes back."""
        self._deployments_api(f"rolling back {arn}", lambda c: c.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK"))

    def service_deployment(self, arn: str) -> dict | None:
        """One service deployment's record (lifecycle stage, hooks, rollback), None when there is none.
        DeploymentsDenied when the API is denied or unknown (a watch goes on without stages)."""
        try:
            with translate_errors(f"describing service deployment {arn}"):
                found = self.client.describe_service_deployments(serviceDeploymentArns=[arn]).get("serviceDeployments") or []
        except ExternalError as exc:
            if error_code(exc.__cause__) in ("AccessDeniedException", "UnknownOperationException"):
                raise DeploymentsDenied(exc.message, hint=exc.hint) from exc.__cause__
            raise
        return found[0] if found else None

    def continue_service_deployment(self, arn: str, hook_id: str, action: str, *, doing: str) -> None:
        """ContinueServiceDeployment: a deployment paused at a hook goes on (CONTINUE) or back (ROLLBACK)."""
        with translate_errors(doing):
            self.client.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook_id, action=action)

    def service_with_tags(self, cluster: str, name: str) -> dict | None:
        """DescribeServices of one service with its tags (include=TAGS); None when missing or INACTIVE."""
        with translate_errors(f"describing service {name}"):
            services = self.client.describe_services(cluster=cluster, services=[name], include=["TAGS"]).get("services", [])
        return next((s for s in services if s.get("status") != "INACTIVE"), None)

    def task_definition_tags(self, ref: str) -> list[dict]:
        """The tags of a task-definition revision ([{key, value}]), untranslated errors (callers decide)."""
        return self.client.describe_task_definition(taskDefinition=ref, include=["TAGS"]).get("tags") or []

    def stopped_tasks(self, cluster: str, *, started_by: str | None, service: str) -> list[dict]:
        """The stopped tasks a deployment started (by its id), else the service's; [] when there are none."""
        client = self.client
        with translate_errors("listing the stopped tasks"):
            kwargs = {"cluster": cluster, "desiredStatus": "STOPPED"}
            arns = client.list_tasks(startedBy=started_by, **kwargs).get("taskArns", []) if started_by else []
            if not arns:
                arns = client.list_tasks(serviceName=service, **kwargs).get("taskArns", [])
            if not arns:
                return []
            return client.describe_tasks(cluster=cluster, tasks=arns[:100]).get("tasks", [])

    def run_task(self, params: dict, *, doing: str) -> dict:
        """RunTask as given; the response (tasks, failures)."""
        with translate_errors(doing):
            return self.client.run_task(**params)

    def task(self, cluster: str, arn: str) -> dict | None:
        """DescribeTasks of one task; None when ECS does not know it (any more)."""
        with translate_errors(f"describing task {arn.rsplit('/', 1)[-1]}"):
            found = self.client.describe_tasks(cluster=cluster, tasks=[arn]).get("tasks") or []
        return found[0] if found else None

    def service_tasks(self, cluster: str, service: str, *, stopped: bool = True) -> list[dict]:
        """The service's tasks (DescribeTasks): running ones, and with `stopped` the recently stopped
        ones ECS still lists (about an hour); [] when there are none."""
        client = self.client
        arns: list[str] = []
        with translate_errors(f"listing the tasks of {service}"):
            for status in ("RUNNING", "STOPPED") if stopped else ("RUNNING",):
                for page in client.get_paginator("list_tasks").paginate(cluster=cluster, serviceName=service, desiredStatus=status):
                    arns.extend(page.get("taskArns", []))
            tasks: list[dict] = []
            for start in range(0, len(arns), 100):
                tasks.extend(client.describe_tasks(cluster=cluster, tasks=arns[start:start + 100]).get("tasks", []))
        return tasks

    def stop_task(self, cluster: str, task: str, reason: str) -> dict:
        """StopTask with the reason ECS shows (stoppedReason)."""
        with translate_errors(f"stopping task {task.rsplit('/', 1)[-1]}"):
            return self.client.stop_task(cluster=cluster, task=task, reason=reason).get("task") or {}

    def execute_command(self, cluster: str, task: str, container: str, command: str) -> dict:
        """ExecuteCommand (interactive): the response, whose `session` the Session Manager plugin opens."""
        with translate_errors(f"starting ECS Exec in task {task.rsplit('/', 1)[-1]}"):
            return self.client.execute_command(cluster=cluster, task=task, container=container, command=command, interactive=True)

    @property
    def endpoint_url(self) -> str:
        return self.client.meta.endpoint_url

    def service_tags(self, service_arn: str) -> dict[str, str]:
        with translate_errors(f"reading the tags of {service_arn}"):
            tags = self.client.list_tags_for_resource(resourceArn=service_arn).get("tags", [])
        return {t["key"]: t["value"] for t in tags}

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        """TagResource is idempotent: retried promptly (jittered, from 0.2 s) rather than with adaptive mode's
        client-side rate limiting, since the verdict waits for the healthy tag."""
        client = self.aws.client("ecs", attempts=1)
        with translate_errors(f"tagging {arn}"):
            retry_transient(lambda: client.tag_resource(resourceArn=arn, tags=[{"key": k, "value": v} for k, v in tags.items()]))

    def deregister(self, arn: str) -> None:
        with translate_errors(f"deregistering {arn}"):
            self.client.deregister_task_definition(taskDefinition=arn)


def arn_family(arn: str) -> str:
    return arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]


def arn_revision(arn: str) -> int:
    return int(arn.rsplit(":", 1)[-1])


def short_name(arn: str | None) -> str | None:
    """family:revision from a task-definition ARN (or the ref itself)."""
    return arn.rsplit("/", 1)[-1] if arn else None


def primary_deployment(service: dict) -> dict | None:
    for deployment in service.get("deployments", []):
        if deployment.get("status") == "PRIMARY":
            return deployment
    return None


def find_in_progress(service: dict | None) -> dict | None:
    """A deployment still rolling out (another release, or ECS's own rollback)."""
    for deployment in (service or {}).get("deployments", []):
        if deployment.get("rolloutState") == "IN_PROGRESS":
            return deployment
    return None
