"""Task definitions as people have them, turned into RegisterTaskDefinition input.

What users bring: `aws ecs describe-task-definition` output (read-only fields, a `tags` wrapper),
old console exports (`null` for every unset field), CloudFormation's PascalCase properties,
AWS samples with placeholders left in, task cpu/memory written with units ("1 vCPU", "2 GB").
Each is cleaned here, and each cleaning is said once (a notice) instead of failing validation
field by field. What cannot be cleaned is refused with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import BadInput

# What describe-task-definition returns that RegisterTaskDefinition does not take.
READ_ONLY = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
)
# CloudFormation names whose API member is not just the lower-camel-case spelling.
_CFN_RENAMED = {"proxyconfigurationproperties": "properties"}


@dataclass
class Prepared:
    params: dict  # RegisterTaskDefinition input; the file's own tags (if any) under "tags"
    notices: list[str] = field(default_factory=list)  # what was changed, said once each


def prepare(rendered: Any, shown: str) -> Prepared:
    """The task definition from any of the forms above (see the module docstring)."""
    notices: list[str] = []
    if isinstance(rendered, list):
        if rendered and all(isinstance(c, dict) and ("image" in c or "name" in c) for c in rendered):
            raise BadInput(
                f"{shown}: this is a list of containers (like Terraform's `container_definitions`), not a task definition",
                hint='wrap it: {"family": "{{ service.family }}", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], '
                '"cpu": "256", "memory": "512", "containerDefinitions": [ …the list… ]}',
            )
        raise BadInput(f"{shown}: a task definition must be a JSON object, got a list")
    if not isinstance(rendered, dict):
        raise BadInput(f"{shown}: a task definition must be a JSON object, got {type(rendered).__name__}")
    tags = None
    if rendered.get("Type") == "AWS::ECS::TaskDefinition" and isinstance(rendered.get("Properties"), dict):
        rendered = rendered["Properties"]  # a CloudFormation resource pasted as is
    if isinstance(rendered.get("taskDefinition"), dict):
        tags = rendered.get("tags")  # `aws ecs describe-task-definition --include TAGS` output
        rendered = rendered["taskDefinition"]
    if any(isinstance(k, str) and k[:1].isupper() for k in rendered):
        rendered = camel_case(rendered, shown)
        notices.append(f"{shown}: CloudFormation-style PascalCase keys converted to ECS's camelCase (ContainerDefinitions → containerDefinitions)")
    params = dict(rendered)
    if "tags" in params:
        tags = params.pop("tags") if tags is None else tags + (params.pop("tags") or [])
    read_only = [k for k in READ_ONLY if k in params]
    for key in read_only:
        del params[key]
    if read_only:
        notices.append(f"{shown}: read-only fields of describe-task-definition output dropped: {', '.join(read_only)}")
    dropped: list[str] = []
    params = prune_reporting(params, dropped)
    if dropped:
        shown_paths = ", ".join(dropped[:8]) + (f" and {len(dropped) - 8} more" if len(dropped) > 8 else "")
        notices.append(f"{shown}: {len(dropped)} null or empty values dropped (ECS treats them as not set): {shown_paths}")
    if tags:
        aws_owned = [t.get("key") for t in tags if isinstance(t, dict) and str(t.get("key", "")).startswith("aws:")]
        if aws_owned:  # AWS sets these itself (CloudFormation's stack tags); RegisterTaskDefinition refuses them
            notices.append(f"{shown}: tags AWS sets itself left out: {', '.join(aws_owned)}")
        tags = [t for t in tags if not (isinstance(t, dict) and str(t.get("key", "")).startswith("aws:"))]
    if tags:
        params["tags"] = tags
    for key in ("cpu", "memory"):
        if key in params:
            params[key] = task_size(params[key], key, shown)
    return Prepared(params, notices)


# ---------------------------------------------------------------------------------------
# null and empty values


def prune_reporting(value: Any, dropped: list[str], path: str = "") -> Any:
    """Drop None, [] and {} (recursively, as ECS ignores them), appending each dropped path to `dropped`."""
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            pruned = prune_reporting(item, dropped, where)
            if pruned in (None, [], {}):
                dropped.append(where)
            else:
                kept[key] = pruned
        return kept
    if isinstance(value, list):
        return [prune_reporting(item, dropped, f"{path}[{n}]") for n, item in enumerate(value)]
    return value


# ---------------------------------------------------------------------------------------
# Task size with units


_SIZE = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>[A-Za-z]*)\s*$")
_UNITS = {"cpu": {"": 1, "vcpu": 1024, "vcpus": 1024}, "memory": {"": 1, "mb": 1, "mib": 1, "gb": 1024, "gib": 1024}}


def task_size(value: Any, key: str, shown: str) -> str:
    """Task-level cpu/memory as ECS answers them: integer strings ("1 vCPU" → "1024", "0.5 GB" → "512")."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return value  # left to the shape validation, which names the field
    match = _SIZE.match(str(value))
    factor = _UNITS[key].get(match.group("unit").lower()) if match else None
    if factor is None:
        units = "a number of CPU units or vCPU (\"1024\", \"1 vCPU\")" if key == "cpu" else "a number of MiB or GB (\"2048\", \"2 GB\")"
        raise BadInput(f"{shown}: `{key}` is {value!r}; expected {units}")
    amount = float(match.group("number")) * factor
    if amount != int(amount):
        raise BadInput(f"{shown}: `{key}` {value!r} is not a whole number of {'CPU units' if key == 'cpu' else 'MiB'}")
    return str(int(amount))


# ---------------------------------------------------------------------------------------
# PascalCase (CloudFormation) → the API's camelCase, guided by botocore's input shape


def camel_case(value: dict, shown: str) -> dict:
    from ..aws.model import input_shape

    shape = input_shape("ecs", "RegisterTaskDefinition")
    return _convert(value, shape, shown, "")


def _convert(value: Any, shape, shown: str, path: str) -> Any:
    if isinstance(value, dict) and (list(value) == ["Ref"] or any(str(k).startswith("Fn::") for k in value)):
        raise BadInput(
            f"{shown}: `{path or '(top)'}` is a CloudFormation intrinsic function ({next(iter(value))}); deployer does not evaluate them",
            hint="replace it with its value or a template value such as {{ environment.outputs.Key }}",
        )
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        members = {name.lower(): name for name in shape.members}
        converted = {}
        for key, item in value.items():
            name = members.get(_CFN_RENAMED.get(str(key).lower(), str(key).lower()))
            where = f"{path}.{key}" if path else str(key)
            if name is None:
                raise BadInput(f"{shown}: `{where}` has no equivalent in ECS's RegisterTaskDefinition (fields here: {', '.join(shape.members)})")
            converted[name] = _convert(item, shape.members[name], shown, where)
        return converted
    if shape.type_name == "list" and isinstance(value, list):
        return [_convert(item, shape.member, shown, f"{path}[{n}]") for n, item in enumerate(value)]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _convert(v, shape.value, shown, f"{path}.{k}") for k, v in value.items()}  # keys are data: kept
    if shape.type_name == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # CloudFormation accepts Cpu: 256
    if shape.type_name in ("integer", "long") and isinstance(value, str) and value.strip().isdigit():
        return int(value)  # and ContainerPort: "80"
    if shape.type_name == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


# ---------------------------------------------------------------------------------------
# Placeholders left in a sample


_PLACEHOLDERS = re.compile(
    r"\$\{[A-Za-z_][A-Za-z0-9_]*\}"  # ${AWS_ACCOUNT_ID}
    r"|<[A-Z][A-Z0-9_-]*>"  # <ES-URL>, <IMAGE1_NAME>
    r"|<[a-z][a-z0-9]*(?:[_-][a-z0-9]+)+>"  # <aws_account_id>, <your-region>
    r"|\b(?:PLACEHOLDER|REPLACE_ME|CHANGE_ME|CHANGEME)\b"
)


def placeholders(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(placeholder, where) for each placeholder-looking text left in a definition."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += placeholders(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found += placeholders(item, f"{path}[{n}]")
    elif isinstance(value, str):
        found += [(match.group(0), path) for match in _PLACEHOLDERS.finditer(value)]
    return found


# ---------------------------------------------------------------------------------------
# Docker's own Go templates in a log-driver option


_GO_TEMPLATE = re.compile(r"\{\{\s*\.[A-Za-z]")


def go_template_hint(source: str) -> str | None:
    """A hint when a Jinja syntax error comes from Docker's `{{.Name}}` (log tags, say)."""
    match = _GO_TEMPLATE.search(source)
    if not match:
        return None
    line = source.count("\n", 0, match.start()) + 1
    return (
        f"line {line} has a Docker/Go template (`{{{{.Name}}}}` style), which Jinja reads as its own: "
        "wrap that value in {% raw %}…{% endraw %}, e.g. \"tag\": \"{% raw %}{{.Name}}{% endraw %}\""
    )
