"""`deployer init`: adopt deployer for a service that already runs, in one command.

Reads the live service and its task-definition revision, and the admins' environment outputs,
and writes deployer.yaml, ecs-task-def.json.j2 and ecs-service-def.json.j2 such that
`deployer diff` right after shows no difference:

- every string equal to an environment output becomes `{{ environment.outputs.<Key> }}`, the
  app container's image `{{ image }}`, the family `{{ service.family }}`;
- network configuration and load balancer are left out of the service definition when they are
  what deployer derives from the outputs (else kept, with outputs substituted);
- settings deployer would otherwise default (the circuit breaker) are written as they are.

There is no deployer.yaml yet, so nothing here touches `run.config`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.errors import BadInput
from ..onboard.generate import CONFIG_FILE
from ..onboard.importing import _adapters


def _write_files(target: Path, contents: dict[str, str]) -> list[str]:
    """Every file checked first (a symlink that leads out of the app repository is refused: nothing is
    written), then each written atomically; a symlink is never written through (deployer/manifest/files.py)."""
    from ..manifest import files

    repo = files.repo_root_of(target)
    places = {name: files.writable(target / name, repo, what=str(target / name)) for name in contents}
    target.mkdir(parents=True, exist_ok=True)
    for name, content in contents.items():
        files.write_text(places[name], content)
    return [str(target / name) for name in contents]


# ---------------------------------------------------------------------------------------
# From the live service to templates


# ---------------------------------------------------------------------------------------
# From an ecspresso project (deployer/onboard/ecspresso.py converts; this adds the environment and writes)


def _staging_dir(target: Path) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix=".deployer-init-", dir=target)


def _ecspresso_readers(run):
    """What the conversion reads from AWS: a Terraform state in S3, a CloudFormation export."""
    from ..onboard import ecspresso

    def tfstate(url: str) -> dict | None:
        bucket, _, key = url.removeprefix("s3://").partition("/")
        try:
            aws, _ = _adapters(run)
            body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
            return json.loads(body)
        except Exception:  # noqa: BLE001 - unreadable: the values are left to fill, and said so
            return None

    def cfn_export(name: str) -> str | None:
        try:
            aws, _ = _adapters(run)
            for page in aws.client("cloudformation").get_paginator("list_exports").paginate():
                for export in page.get("Exports", []):
                    if export.get("Name") == name:
                        return export.get("Value")
        except Exception:  # noqa: BLE001
            return None
        return None

    return ecspresso.Readers(tfstate=tfstate, cfn_export=cfn_export)


def _ecspresso_document(converted, task_def: dict, service_def: dict, service: str, cluster_key: str, aws, stack, proton, source_file: Path):
    lbs = [lb for lb in service_def.get("loadBalancers") or [] if isinstance(lb, dict)]
    containers = task_def.get("containerDefinitions") or []
    if not containers:
        raise BadInput(f"{converted.task_definition}: no containerDefinitions after rendering")
    # The image `release` replaces: the load balancer's container, else the first.
    container = lbs[0].get("containerName") if lbs and lbs[0].get("containerName") else containers[0]["name"]
    if len(containers) > 1:
        converted.warnings.append(f"{len(containers)} containers: `{container}` gets the new image on release (service.container in {CONFIG_FILE})")
    port = lbs[0].get("containerPort") if lbs else None
    family = task_def.get("family") or service
    outputs_config: dict[str, Any] = {"cluster": cluster_key}
    if not lbs:
        outputs_config["target_group"] = None  # the service has no load balancer: deployer must not add one
    service_config: dict[str, Any] = {"name": service} if service != family else {}
    if converted.service_definition:
        service_config["definition"] = converted.service_definition
    service_config["container"] = container
    if port is not None:
        service_config["port"] = port
    document = {"app": family}
    if not converted.region_from_env:
        document["region"] = aws.region
    document.update({
        "environment": {**({"stack": stack} if stack else {"proton": proton}), "outputs": outputs_config},
        "image": {"context": ".", "dockerfile": "Dockerfile"},
        "task_definition": converted.task_definition,
        "service": service_config,
        "deploy": {"timeout": converted.timeout or 600, "rollback_on_failure": True},
    })
    return document, container, port, family
