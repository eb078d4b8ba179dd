"""deployer/release/plan.py: what the planner compares (plain data, no AWS)."""

from __future__ import annotations

from deployer.manifest import normalize
from deployer.release.plan import comparable_live

CONNECT = {"enabled": True, "namespace": "demo.local", "services": [{"portName": "http", "clientAliases": [{"port": 80}]}]}
ANSWERED = {"enabled": True, "namespace": "demo.local",
            "services": [{"portName": "http", "discoveryName": "http", "clientAliases": [{"port": 80, "dnsName": "http.demo.local"}]}]}
VOLUMES = [{"name": "scratch", "managedEBSVolume": {"roleArn": "arn:aws:iam::123456789012:role/ebs", "sizeInGiB": 20}}]


def _service(primary_settings: dict, **top) -> dict:
    return {
        "serviceName": "web", "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2", **top,
        "deployments": [
            {"id": "ecs-svc/2", "status": "PRIMARY", "rolloutState": "COMPLETED", **primary_settings},
            {"id": "ecs-svc/1", "status": "ACTIVE", "serviceConnectConfiguration": {"enabled": False}},
        ],
    }


def test_per_deployment_settings_are_read_from_the_primary_deployment():
    live = comparable_live(_service({"serviceConnectConfiguration": ANSWERED, "volumeConfigurations": VOLUMES}))
    assert live["serviceConnectConfiguration"] == ANSWERED and live["volumeConfigurations"] == VOLUMES
    assert "vpcLatticeConfigurations" not in live
    assert live["deployments"][0]["id"] == "ecs-svc/2"  # everything else as it was


def test_a_top_level_field_is_not_what_runs():
    live = comparable_live(_service({}, serviceConnectConfiguration=CONNECT))
    assert "serviceConnectConfiguration" not in live
    assert comparable_live({"serviceName": "web", "deployments": []}) == {"serviceName": "web", "deployments": []}


def test_unchanged_settings_with_ecs_defaults_spelled_out_are_no_change():
    live = comparable_live(_service({"serviceConnectConfiguration": ANSWERED, "volumeConfigurations": VOLUMES}))
    wanted = {"serviceConnectConfiguration": CONNECT, "volumeConfigurations": VOLUMES}
    assert normalize.changed_settings(wanted, live) == {}
    moved = {**wanted, "serviceConnectConfiguration": {**CONNECT, "services": [{"portName": "http", "clientAliases": [{"port": 81}]}]}}
    assert list(normalize.changed_settings(moved, live)) == ["serviceConnectConfiguration"]
    assert list(normalize.changed_settings({"volumeConfigurations": VOLUMES + VOLUMES}, live)) == ["volumeConfigurations"]
