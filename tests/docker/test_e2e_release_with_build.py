"""`deployer release` with a real build (the private Docker engine and registry) for topics whose other
tests need only the local AWS: deployment settings (tests/e2e/test_e2e_deployment_settings.py), the
release IAM policy (tests/e2e/test_e2e_security.py), task sizes with units (tests/e2e/test_e2e_taskdefs.py)."""

from __future__ import annotations

from tests.conftest import ecs_state
from tests.docker.test_e2e_release import build_arg, docker_app  # noqa: F401 - docker_app is a fixture
from tests.e2e.test_e2e_deployment_settings import _with_deployment_settings
from tests.e2e.test_e2e_security import assert_within, policy_for
from tests.e2e.test_e2e_taskdefs import cluster, registered


def test_release_twice_with_deployment_settings_the_second_is_a_no_op(docker_app, docker_env, aws, platform):
    _with_deployment_settings(docker_app, platform)
    docker_app.commit("service connect, an EBS volume, VPC Lattice")
    first = docker_app.cli("release", "--output", "json", *build_arg(docker_env))
    assert first.code == 0 and first.json["status"] == "deployed", first.stderr
    cluster = platform["outputs"]["ClusterName"]
    before = ecs_state(aws, cluster)
    aws.reset_counters()
    second = docker_app.cli("release", "--output", "json", *build_arg(docker_env))
    assert second.code == 0 and second.json["status"] == "unchanged", second.stderr
    assert "already deployed: nothing registered, no deployment started" in second.stderr
    assert "UpdateService" not in aws.get_counters().get("ecs", {})
    assert ecs_state(aws, cluster) == before


def test_release_with_a_real_build_works_with_the_release_policy(app, aws, platform, enforce, docker_env):
    app.extra_env.update(docker_env.environ())
    release = policy_for(app, "release")
    enforce(release)
    result = app.cli("release", "--build-arg", f"BASE_IMAGE={docker_env.base_image}", "--output", "json")
    assert result.code == 0, result.stderr
    assert result.json["status"] == "deployed"
    called = assert_within(aws, release)
    assert {"ecr:GetAuthorizationToken", "ecs:RegisterTaskDefinition", "ecs:CreateService"} <= called


def test_release_twice_with_task_size_units_registers_once(app, docker_env, aws, platform):
    """Issue 10 item 7: ".25 vcpu" / "0.5 GB" are registered as ECS answers them ("256" / "512"),
    so releasing the same commit again compares equal and registers nothing."""
    app.extra_env.update(docker_env.environ())
    app.edit("ecs-task-def.json.j2", '"cpu": "256",', '"cpu": ".25 vcpu",')
    app.edit("ecs-task-def.json.j2", '"memory": "512",', '"memory": "0.5 GB",')
    app.commit("task size with units")
    build_arg = ("--build-arg", f"BASE_IMAGE={docker_env.base_image}")
    first = app.cli("release", "--output", "json", *build_arg)
    assert first.code == 0, first.stderr
    td, _ = registered(aws, first.json["task_definition"])
    assert (td["cpu"], td["memory"]) == ("256", "512")
    before = ecs_state(aws, cluster(platform))
    second = app.cli("release", "--output", "json", *build_arg)
    assert second.code == 0, second.stderr
    assert second.json["status"] == "unchanged"
    assert ecs_state(aws, cluster(platform)) == before
