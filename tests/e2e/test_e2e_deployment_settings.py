"""Settings ECS reports per deployment (serviceConnectConfiguration, volumeConfigurations,
vpcLatticeConfigurations) are compared where ECS reports them: an unchanged release is a no-op."""

from __future__ import annotations

import json
import re

from tests.conftest import ecs_state
from tests.e2e.test_e2e_deploy import deploy, service

LATTICE_TG = "arn:aws:vpc-lattice:us-east-1:123456789012:targetgroup/tg-0123456789abcdef0"


def _with_deployment_settings(app, platform, alias_port: int = 80, namespace: str = "demo.local") -> None:
    role = platform["outputs"]["TaskExecutionRoleArn"]
    app.edit("ecs-task-def.json.j2", '"containerPort": 8080', '"containerPort": 8080, "name": "http"')
    app.edit("ecs-task-def.json.j2", '"containerDefinitions": [', '"volumes": [{ "name": "scratch", "configuredAtLaunch": true }],\n  "containerDefinitions": [')
    app.edit(
        "ecs-service-def.json.j2",
        '"enableExecuteCommand": false',
        '"enableExecuteCommand": false,\n'
        f'  "serviceConnectConfiguration": {{ "enabled": true, "namespace": "{namespace}", "services": [{{ "portName": "http", "clientAliases": [{{ "port": {{{{ vars.alias_port }}}} }}] }}] }},\n'
        f'  "volumeConfigurations": [{{ "name": "scratch", "managedEBSVolume": {{ "roleArn": "{role}", "sizeInGiB": 20, "volumeType": "gp3" }} }}],\n'
        f'  "vpcLatticeConfigurations": [{{ "roleArn": "{role}", "targetGroupArn": "{LATTICE_TG}", "portName": "http" }}]',
    )
    app.edit("deployer.yaml", "log_level: info", f"log_level: info\n  alias_port: {alias_port}")


def test_an_unchanged_release_with_deployment_settings_is_a_no_op(app, aws, platform):
    _with_deployment_settings(app, platform)
    first = deploy(app, platform, "v1")
    assert first.code == 0, first.stderr
    primary = service(aws, platform)["deployments"][0]
    assert primary["serviceConnectConfiguration"]["namespace"] == "demo.local"
    assert primary["volumeConfigurations"][0]["name"] == "scratch"
    assert primary["vpcLatticeConfigurations"][0]["targetGroupArn"] == LATTICE_TG

    cluster = platform["outputs"]["ClusterName"]
    before = ecs_state(aws, cluster)
    aws.reset_counters()
    again = deploy(app, platform, "v1")
    assert again.code == 0, again.stderr
    assert again.json["status"] == "unchanged", again.stderr
    assert "UpdateService" not in aws.get_counters().get("ecs", {})
    assert ecs_state(aws, cluster) == before  # nothing registered, no deployment started
    diff = app.cli("diff", "--exit-code")
    assert diff.code == 0 and diff.stdout == "", diff.stdout

    # A real change to one of them is seen, deployed, and then settles into a no-op again.
    app.edit("deployer.yaml", "alias_port: 80", "alias_port: 8081")
    diff = app.cli("diff", "--exit-code")
    assert diff.code == 1 and '"port": 8081' in diff.stdout and "clientAliases" in diff.stdout
    changed = deploy(app, platform, "v1")
    assert changed.code == 0, changed.stderr
    assert changed.json["status"] == "deployed"
    assert service(aws, platform)["deployments"][0]["serviceConnectConfiguration"]["services"][0]["clientAliases"][0]["port"] == 8081
    assert deploy(app, platform, "v1").json["status"] == "unchanged"


def test_after_ecs_rolled_back_the_settings_of_the_rollback_deployment_are_compared(app, aws, platform):
    _with_deployment_settings(app, platform)
    assert deploy(app, platform, "v1").code == 0
    aws.mark_broken("*:broken")
    app.edit("deployer.yaml", "alias_port: 80", "alias_port: 9000")
    failed = deploy(app, platform, "broken")
    # "is rolling back" or, when a slow poll (a loaded machine) first sees it done, "rolled back"
    assert failed.code == 1 and re.search(r"ECS (is rolling|rolled) back to web:1", failed.stderr), failed.stderr
    primary = service(aws, platform)["deployments"][0]
    assert primary["serviceConnectConfiguration"]["services"][0]["clientAliases"][0]["port"] == 80
    app.edit("deployer.yaml", "alias_port: 9000", "alias_port: 80")
    again = deploy(app, platform, "v1")
    assert again.code == 0 and again.json["status"] == "unchanged", again.stderr


def test_a_namespace_named_on_one_side_and_given_by_arn_on_the_other_is_the_same(app, aws, platform):
    cloud_map = aws.client("servicediscovery")
    cloud_map.create_http_namespace(Name="demo.local")
    arn = cloud_map.list_namespaces()["Namespaces"][0]["Arn"]
    _with_deployment_settings(app, platform, namespace=arn)
    assert deploy(app, platform, "v1").code == 0
    assert service(aws, platform)["deployments"][0]["serviceConnectConfiguration"]["namespace"] == arn
    app.edit("ecs-service-def.json.j2", arn, "demo.local")
    assert app.cli("diff", "--exit-code").code == 0
    again = deploy(app, platform, "v1")
    assert again.code == 0 and again.json["status"] == "unchanged", again.stderr
    app.edit("ecs-service-def.json.j2", '"demo.local"', '"other.local"')  # another namespace is a change
    assert app.cli("diff", "--exit-code").code == 1
    policy = {s["Sid"]: s for s in json.loads(app.cli("iam-policy").stdout)["Statement"]}
    assert policy["ServiceConnectNamespaceName"]["Action"] == ["servicediscovery:GetNamespace"]
