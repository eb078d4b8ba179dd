"""moto CloudFormation gaps met by a Proton-style *service* stack (an ECS service and its task
definition owned by CloudFormation) and by handing such a service over to deployer (moto 5.2):

- AWS::ECS::TaskDefinition registers only family, containers, volumes and memory: networkMode,
  cpu, requiresCompatibilities, roles, tags are dropped. Here every property is registered.
- AWS::ECS::Service drops LaunchType, NetworkConfiguration, LoadBalancers, DeploymentConfiguration
  and Tags, and points the service at the family instead of the revision `Ref` names.
- Neither gets the `aws:cloudformation:stack-name` / `stack-id` / `logical-id` tags CloudFormation
  puts on what it creates.
- A template change that only adds `DeletionPolicy` / `UpdateReplacePolicy` is treated as a
  property change (the task definition is replaced, the service updated); CloudFormation changes
  no resource for it.
- A resource removed from the template is deleted even with `DeletionPolicy: Retain`;
  CloudFormation keeps it (moto honours Retain only on DeleteStack).
"""
from __future__ import annotations

from typing import Any

from moto.cloudformation.parsing import ResourceMap
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ecs.models import Cluster, Service, TaskDefinition, ecs_backends

_POLICIES = ("DeletionPolicy", "UpdateReplacePolicy")
_orig_build_resource_diff = ResourceMap.build_resource_diff
_orig_delete_resource = ResourceMap._delete_resource
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    TaskDefinition.create_from_cloudformation_json = classmethod(_task_definition_from_cfn)
    TaskDefinition.update_from_cloudformation_json = classmethod(_task_definition_update_from_cfn)
    Service.create_from_cloudformation_json = classmethod(_service_from_cfn)
    ResourceMap.build_resource_diff = _build_resource_diff
    ResourceMap._delete_resource = _delete_resource
    _installed = True


def _stack_tags(kwargs: dict[str, Any]) -> list[dict[str, str]]:
    stack_id = kwargs.get("StackId") or ""
    name = stack_id.split(":stack/", 1)[-1].split("/", 1)[0] if ":stack/" in stack_id else ""
    if not name:
        return []
    return [
        {"key": "aws:cloudformation:stack-name", "value": name},
        {"key": "aws:cloudformation:stack-id", "value": stack_id},
        {"key": "aws:cloudformation:logical-id", "value": kwargs.get("LogicalId", "")},
    ]


def _camel(value: Any) -> Any:
    return remap_nested_keys(value, pascal_to_camelcase)


def _user_tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    return [{"key": t["Key"], "value": t["Value"]} for t in properties.get("Tags") or []]


def _register(account_id: str, region_name: str, properties: dict[str, Any], tags: list[dict[str, str]]) -> TaskDefinition:
    backend = ecs_backends[account_id][region_name]
    cpu, memory = properties.get("Cpu"), properties.get("Memory")
    td = backend.register_task_definition(
        family=properties.get("Family") or "task-definition",
        container_definitions=_camel(properties.get("ContainerDefinitions", [])),
        volumes=_camel(properties.get("Volumes")),
        network_mode=properties.get("NetworkMode"),
        tags=tags,
        placement_constraints=_camel(properties.get("PlacementConstraints")),
        requires_compatibilities=properties.get("RequiresCompatibilities"),
        cpu=str(cpu) if cpu is not None else None,
        memory=str(memory) if memory is not None else None,
        task_role_arn=properties.get("TaskRoleArn"),
        execution_role_arn=properties.get("ExecutionRoleArn"),
        runtime_platform=_camel(properties.get("RuntimePlatform")),
    )
    td._cfn_properties = properties  # what an update compares against
    return td


def _task_definition_from_cfn(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> TaskDefinition:
    properties = cloudformation_json["Properties"]
    td = _register(account_id, region_name, properties, _user_tags(properties) + _stack_tags(kwargs))
    td._cfn_stack_tags = _stack_tags(kwargs)
    return td


def _task_definition_update_from_cfn(cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> TaskDefinition:
    properties = cloudformation_json["Properties"]
    if getattr(original_resource, "_cfn_properties", None) == properties:
        return original_resource
    # A changed task definition is a replacement: a new revision, the old one deregistered.
    stack_tags = getattr(original_resource, "_cfn_stack_tags", [])
    td = _register(account_id, region_name, properties, _user_tags(properties) + stack_tags)
    td._cfn_stack_tags = stack_tags
    ecs_backends[account_id][region_name].deregister_task_definition(original_resource.arn)
    return td


def _service_from_cfn(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Service:
    properties = cloudformation_json["Properties"]
    cluster = properties["Cluster"].name if isinstance(properties["Cluster"], Cluster) else properties["Cluster"]
    td = properties["TaskDefinition"]
    td_ref = td.arn if isinstance(td, TaskDefinition) else td  # Ref of a task definition is its ARN
    backend = ecs_backends[account_id][region_name]
    service = backend.create_service(
        cluster,
        properties.get("ServiceName") or resource_name,
        properties.get("DesiredCount", 1),
        task_definition_str=td_ref,
        load_balancers=_camel(properties.get("LoadBalancers")),
        tags=_user_tags(properties) + _stack_tags(kwargs),
        launch_type=properties.get("LaunchType"),
        platform_version=properties.get("PlatformVersion"),
        propagate_tags=properties.get("PropagateTags") or "NONE",
        network_configuration=_camel(properties.get("NetworkConfiguration")),
    )
    if properties.get("DeploymentConfiguration"):
        service.deployment_configuration = _camel(properties["DeploymentConfiguration"])
    if properties.get("HealthCheckGracePeriodSeconds") is not None:
        service.health_check_grace_period_seconds = int(properties["HealthCheckGracePeriodSeconds"])
    return service


def _without_policies(resource: Any) -> Any:
    return {k: v for k, v in resource.items() if k not in _POLICIES} if isinstance(resource, dict) else resource


def _build_resource_diff(self: ResourceMap, other_template: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, list[str]]:
    diff = _orig_build_resource_diff(self, other_template, parameters)
    old, new = self._resource_json_map, other_template["Resources"]
    diff["Modify"] = [name for name in diff["Modify"] if _without_policies(old.get(name)) != _without_policies(new.get(name))]
    return diff


def _delete_resource(self: ResourceMap, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
    if resource_json.get("DeletionPolicy") == "Retain":
        return  # removed from the template, kept in the account
    _orig_delete_resource(self, parsed_resource, resource_json)
