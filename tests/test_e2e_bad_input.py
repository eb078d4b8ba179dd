"""Bad input: exit 2, a message that names the place, and AWS unchanged (asserted, not assumed)."""

from __future__ import annotations

import pytest

from tests.conftest import ecs_state, image_ref

CASES = [
    # (id, file to edit, old, new, extra args, expected message part)
    ("missing output", "deployer.yaml", "cluster: ClusterName", "cluster: EcsClusterName", (), "environment.outputs.cluster: output `EcsClusterName` not found in stack AWSProton-demo-cloudformation--"),
    ("undefined template name", "ecs-task-def.json.j2", '"{{ vars.log_level }}"', '"{{ vars.loglevel }}"', (), "ecs-task-def.json.j2:16: undefined name in template"),
    ("wrong field type", "ecs-task-def.json.j2", '"containerPort": 8080,', '"containerPort": "8080",', (), "containerDefinitions[0].portMappings[0].containerPort"),
    ("yaml typo", "deployer.yaml", "  container: app", "  containr: app", (), "deployer.yaml:21: `service.containr` is not a known key; did you mean `service.container`?"),
    ("invalid json after render", "ecs-task-def.json.j2", '"cpu": "256",', '"cpu": "256",,', (), "rendered output is not valid JSON at line 5"),
    ("unknown container", "deployer.yaml", "  container: app", "  container: web", (), "container `web` is not in ecs-task-def.json.j2"),
    ("service def wrong type", "ecs-service-def.json.j2", '"healthCheckGracePeriodSeconds": 30', '"healthCheckGracePeriodSeconds": "soon"', (), "healthCheckGracePeriodSeconds"),
    ("bad --var", None, None, None, ("--var", "novalue"), "--var 'novalue': expected KEY=VALUE"),
    ("unknown revision", None, None, None, ("--revision", "42"), "web:42"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_changes_nothing(app, aws, platform, case):
    _, filename, old, new, extra, expected = case
    assert app.cli("deploy", "--image", image_ref(platform, "v1")).code == 0
    cluster = platform["outputs"]["ClusterName"]
    before = ecs_state(aws, cluster)
    if filename:
        app.edit(filename, old, new)
    args = ["deploy", *extra] if "--revision" in extra else ["deploy", "--image", image_ref(platform, "v2"), *extra]
    result = app.cli(*args)
    assert result.code == 2, result.stderr
    assert expected in result.stderr
    assert ecs_state(aws, cluster) == before
