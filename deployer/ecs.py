"""Thin adapter over the ECS API: the calls the stages need, errors translated, plain dicts out."""

from __future__ import annotations

from dataclasses import dataclass

from .aws import Aws, error_code, translate_errors
from .errors import BadInput

TAG_IMAGE = "deployer:image"
TAG_COMMIT = "deployer:commit"
TAG_HEALTHY = "deployer:healthy"  # set once a deployment of the revision reached the success verdict
TAG_SERVICE = "deployer:service"


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


class Ecs:
    def __init__(self, aws: Aws):
        self.aws = aws

    @property
    def client(self):
        return self.aws.client("ecs")

    def describe_services(self, cluster: str, names: list[str]) -> dict[str, dict | None]:
        """One DescribeServices call for up to 10 services; INACTIVE/missing services map to None."""
        found: dict[str, dict | None] = {name: None for name in names}
        for start in range(0, len(names), 10):
            chunk = names[start : start + 10]
            with translate_errors(f"describing services {', '.join(chunk)} in cluster {cluster}"):
                try:
                    response = self.client.describe_services(cluster=cluster, services=chunk)
                except Exception as exc:
                    if error_code(exc) == "ClusterNotFoundException":
                        raise BadInput(f"environment cluster `{cluster}` does not exist") from None
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

    def revision_arns(self, family: str, status: str = "ACTIVE") -> list[str]:
        """Revisions of a family, newest first (sorted here: not every endpoint honours sort=DESC)."""
        arns: list[str] = []
        with translate_errors(f"listing revisions of {family}"):
            paginator = self.client.get_paginator("list_task_definitions")
            for page in paginator.paginate(familyPrefix=family, status=status, sort="DESC"):
                arns.extend(a for a in page.get("taskDefinitionArns", []) if arn_family(a) == family)
        return sorted(set(arns), key=arn_revision, reverse=True)

    def register(self, params: dict, tags: dict[str, str]) -> str:
        with translate_errors(f"registering task definition {params.get('family')}"):
            tag_list = [{"key": k, "value": v} for k, v in tags.items() if v]
            response = self.client.register_task_definition(**params, **({"tags": tag_list} if tag_list else {}))
        return response["taskDefinition"]["taskDefinitionArn"]

    def create_service(self, cluster: str, params: dict, task_definition: str) -> dict:
        with translate_errors(f"creating service {params.get('serviceName')}"):
            return self.client.create_service(cluster=cluster, taskDefinition=task_definition, **params)["service"]

    def update_service(self, cluster: str, service: str, params: dict, task_definition: str | None = None) -> dict:
        kwargs = dict(params)
        if task_definition:
            kwargs["taskDefinition"] = task_definition
        with translate_errors(f"updating service {service}"):
            return self.client.update_service(cluster=cluster, service=service, **kwargs)["service"]

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        with translate_errors(f"tagging {arn}"):
            self.client.tag_resource(resourceArn=arn, tags=[{"key": k, "value": v} for k, v in tags.items()])

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
