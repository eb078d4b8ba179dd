"""`environments:` in deployer.yaml: the schema, the merge over `environment:`, and the one
environment resolution (config.select_environment) every command goes through."""

from pathlib import Path

import pytest

from deployer.core.errors import BadInput
from deployer.manifest import config

TASK_DEF = '{"family": "web", "containerDefinitions": [{"name": "app", "image": "{{ image }}"}]}'

MULTI = """\
app: web
region: us-east-1
environment:
  outputs:
    cluster: EcsCluster
  vars: {tier: shared}
environments:
  staging:
    stack: AWSProton-staging-cloudformation--ABCDEFGHIJ
    role_arn: arn:aws:iam::222222222222:role/deployer-release
    account: "222222222222"
    vars: {log_level: debug}
  prod:
    proton: prod
    role_arn: arn:aws:iam::333333333333:role/deployer-release
    region: eu-west-1
    outputs:
      alarms: DeploymentAlarms
    services:
      web: {desired_count: 4, alarms: [web-5xx]}
image:
  repository: 123456789012.dkr.ecr.us-east-1.amazonaws.com/web
  role_arn: arn:aws:iam::123456789012:role/ecr-push
task_definition: td.json.j2
service:
  port: 8080
vars: {log_level: info}
"""


def load(tmp_path: Path, text: str) -> config.Config:
    (tmp_path / "td.json.j2").write_text(TASK_DEF)
    path = tmp_path / "deployer.yaml"
    path.write_text(text)
    return config.load(path)


def test_environments_merge_over_the_shared_defaults(tmp_path):
    cfg = load(tmp_path, MULTI)
    assert sorted(cfg.environments) == ["prod", "staging"] and cfg.environment is None
    staging, prod = cfg.environments["staging"], cfg.environments["prod"]
    assert (staging.stack, staging.proton, staging.account) == ("AWSProton-staging-cloudformation--ABCDEFGHIJ", None, "222222222222")
    assert (prod.stack, prod.proton, prod.region) == (None, "prod", "eu-west-1")
    assert staging.outputs.cluster == prod.outputs.cluster == "EcsCluster"  # the shared outputs mapping
    assert (staging.outputs.alarms, prod.outputs.alarms) == (None, "DeploymentAlarms")
    assert prod.services["web"] == config.ServiceOverride(desired_count=4, alarms=["web-5xx"])
    assert (cfg.image.repository, cfg.image.role_arn) == ("123456789012.dkr.ecr.us-east-1.amazonaws.com/web", "arn:aws:iam::123456789012:role/ecr-push")


def test_selecting_an_environment(tmp_path):
    cfg = load(tmp_path, MULTI)
    staging = config.select_environment(cfg, "staging")
    assert staging.environment.name == "staging" and staging.region == "us-east-1"
    assert staging.vars == {"log_level": "debug", "tier": "shared"}
    prod = config.select_environment(cfg, "prod")
    assert prod.region == "eu-west-1" and prod.vars == {"log_level": "info", "tier": "shared"}


@pytest.mark.parametrize("name, variable, message", [
    (None, False, "deployer.yaml defines environments (prod, staging): pass --env NAME (or set DEPLOYER_ENV)"),
    ("production", False, "--env production: no such environment in deployer.yaml (environments: prod, staging)"),
    ("qa", True, "DEPLOYER_ENV=qa: no such environment in deployer.yaml (environments: prod, staging)"),
])
def test_no_environment_is_guessed(tmp_path, name, variable, message):
    cfg = load(tmp_path, MULTI)
    with pytest.raises(BadInput) as caught:
        config.select_environment(cfg, name, from_variable=variable)
    assert caught.value.message.startswith(message)


def test_a_single_environment_is_not_guessed_either(tmp_path):
    text = MULTI[: MULTI.index("  prod:\n")] + MULTI[MULTI.index("image:\n"):]
    cfg = load(tmp_path, text)
    with pytest.raises(BadInput, match=r"defines environments \(staging\): pass --env NAME"):
        config.select_environment(cfg, None)


def test_without_environments_the_config_is_as_before(tmp_path):
    cfg = load(tmp_path, "app: web\nenvironment:\n  stack: s\ntask_definition: td.json.j2\n")
    assert config.select_environment(cfg, None) is cfg
    assert cfg.environment.name is None and cfg.environment.role_arn is None and cfg.environments == {}
    with pytest.raises(BadInput, match=r"--env staging: deployer.yaml has no `environments:`"):
        config.select_environment(cfg, "staging")


@pytest.mark.parametrize("old, new, message", [
    ("    stack: AWSProton-staging-cloudformation--ABCDEFGHIJ\n", "", r"deployer.yaml:8: `environments.staging` needs exactly one of `stack` or `proton`"),
    ("    role_arn: arn:aws:iam::222222222222:role/deployer-release\n", "    role_arn: deployer-release\n", r"deployer.yaml:10: `environments.staging.role_arn` is not an IAM role ARN"),
    ('    account: "222222222222"\n', "    account: 2222\n", r"deployer.yaml:11: `environments.staging.account` must be a 12-digit AWS account id"),
    ('    account: "222222222222"\n', '    account: "444444444444"\n', r"`environments.staging.account` is 444444444444, but role_arn .* is a role of account 222222222222"),
    ("    region: eu-west-1\n", "    region: europe\n", r"deployer.yaml:16: `environments.prod.region` is not an AWS region name"),
    ("      web: {desired_count: 4", "      api: {desired_count: 4", r"`environments.prod.services.api` is not a configured service \(services: web\)"),
    ("      web: {desired_count: 4", "      web: {desired_count: -1", r"`environments.prod.services.web.desired_count` must be 0 or more"),
    ("      web: {desired_count: 4", "      web: {desired_cuont: 4", r"`environments.prod.services.web.desired_cuont` is not a known key; did you mean `environments.prod.services.web.desired_count`"),
    ("    vars: {log_level: debug}\n", "    stak: x\n", r"deployer.yaml:12: `environments.staging.stak` is not a known key; did you mean `environments.staging.stack`"),
    ("  staging:\n", "  staging prod!:\n", r"`environments.staging prod!` is not a valid environment name"),
    ("environments:\n", "environmentz:\n", r"deployer.yaml:7: `environmentz` is not a known key.*valid here: .*environment, environments"),
])
def test_bad_environments_name_the_line_and_key(tmp_path, old, new, message):
    assert old in MULTI
    with pytest.raises(BadInput, match=message):
        load(tmp_path, MULTI.replace(old, new, 1))


def test_an_unquoted_account_is_read_as_its_digits(tmp_path):
    cfg = load(tmp_path, MULTI.replace('account: "222222222222"', "account: 222222222222"))
    assert cfg.environments["staging"].account == "222222222222"


def test_environments_must_not_be_empty(tmp_path):
    text = MULTI[: MULTI.index("environments:\n")] + "environments: {}\n" + MULTI[MULTI.index("image:\n"):]
    with pytest.raises(BadInput, match=r"`environments` must name at least one environment"):
        load(tmp_path, text)


def test_session_names():
    from deployer.aws.session import session_name

    assert session_name("deployer", "web", "staging") == "deployer-web-staging"
    assert session_name("deployer", "my app", "prod/eu") == "deployer-my-app-prod-eu"
    assert len(session_name("deployer", "a" * 100, "prod")) == 64
