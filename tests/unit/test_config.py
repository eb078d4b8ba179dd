"""deployer.yaml validation: every bad input names the file, line and key."""

from pathlib import Path

import pytest

from deployer.manifest import config
from deployer.core.errors import BadInput

TASK_DEF = '{"family": "web", "containerDefinitions": [{"name": "app", "image": "{{ image }}"}]}'


def write_app(tmp_path: Path, yaml_text: str) -> Path:
    (tmp_path / "td.json.j2").write_text(TASK_DEF)
    path = tmp_path / "deployer.yaml"
    path.write_text(yaml_text)
    return path


GOOD = """\
app: web
environment:
  stack: AWSProton-prod-cloudformation--ABCDEFGHIJ
task_definition: td.json.j2
service:
  port: 8080
"""


def test_defaults_fill_the_contract(tmp_path):
    cfg = config.load(write_app(tmp_path, GOOD))
    assert cfg.app == "web"
    assert cfg.service.name == "web" and cfg.service.family == "web" and cfg.service.container == "app"
    assert cfg.environment.outputs.cluster == "ClusterName"
    assert cfg.environment.outputs.subnets == ["PrivateSubnet1", "PrivateSubnet2"]
    assert cfg.environment.outputs.target_group == "TargetGroupArn"
    assert cfg.deploy.timeout == 600 and cfg.deploy.rollback_on_failure is True
    assert cfg.image.context == tmp_path.resolve()
    assert cfg.image.platform is None and cfg.image.cache is None  # the task definition's platform; cache by builder


def test_image_build_options(tmp_path):
    text = GOOD.replace("app: web\n", "app: web\nimage:\n  platform: linux/aarch64\n  cache: off\n  secrets: {npm: 'env:NPM_TOKEN'}\n")
    cfg = config.load(write_app(tmp_path, text))
    assert (cfg.image.platform, cfg.image.cache, cfg.image.secrets) == ("linux/arm64", "off", {"npm": "env:NPM_TOKEN"})


def test_remapped_outputs(tmp_path):
    text = GOOD.replace("  stack: AWSProton-prod-cloudformation--ABCDEFGHIJ\n", "  stack: s\n  outputs:\n    cluster: EcsCluster\n    subnets: Subnets\n    target_group: null\n")
    cfg = config.load(write_app(tmp_path, text))
    assert cfg.environment.outputs.cluster == "EcsCluster"
    assert cfg.environment.outputs.subnets == ["Subnets"]
    assert cfg.environment.outputs.target_group is None and cfg.environment.outputs.target_group_explicit


@pytest.mark.parametrize(
    "yaml_text, expected",
    [
        (GOOD.replace("task_definition:", "task_defintion:"), "deployer.yaml:4: `task_defintion` is not a known key; did you mean `task_definition`?"),
        (GOOD.replace("  port: 8080", "  prot: 8080"), "deployer.yaml:6: `service.prot` is not a known key; did you mean `service.port`?"),
        (GOOD.replace("  port: 8080", "  port: eighty"), "deployer.yaml:6: `service.port` must be an integer, got a string ('eighty')"),
        (GOOD + "deploy:\n  rollback_on_failure: maybe\n", "deployer.yaml:8: `deploy.rollback_on_failure` must be true or false"),
        (GOOD.replace("app: web\n", ""), "`app` is required"),
        (GOOD.replace("  stack:", "  proton: prod\n  stack:"), "needs exactly one of `stack` or `proton` (both are set)"),
        (GOOD + "service: [oops\n", "deployer.yaml:8: invalid YAML: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence started at line 7)"),
        (GOOD + "app: again\n", "deployer.yaml:7: duplicate key `app`"),
        (GOOD.replace("td.json.j2", "missing.j2"), "`task_definition` file not found"),
        (GOOD + "deploy:\n  timeout: -5\n", "`deploy.timeout` must be a positive number of seconds"),
    ],
)
def test_bad_config_names_the_place(tmp_path, yaml_text, expected):
    path = write_app(tmp_path, yaml_text)
    with pytest.raises(BadInput) as caught:
        config.load(path)
    assert expected in caught.value.message.replace(str(path), "deployer.yaml")
    assert caught.value.exit_code == 2


def test_missing_file_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="config file not found"):
        config.load(tmp_path / "nope.yaml")


def test_several_services_get_their_own_family(tmp_path):
    text = "app: shop\nenvironment: {stack: s}\nservices:\n  - {name: web, task_definition: td.json.j2, port: 8080}\n  - {name: worker, task_definition: td.json.j2}\n"
    cfg = config.load(write_app(tmp_path, text))
    assert [(s.name, s.family) for s in cfg.services] == [("web", "shop-web"), ("worker", "shop-worker")]


def test_parse_vars():
    assert config.parse_vars(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(BadInput, match="expected KEY=VALUE"):
        config.parse_vars(["novalue"])


# --- issue 11: files inside the repository, env_allow, hostile YAML


def test_repository_is_the_nearest_git_directory(tmp_path):
    (tmp_path / ".git").mkdir()
    app_dir = tmp_path / "services" / "web"
    app_dir.mkdir(parents=True)
    (tmp_path / "shared.json.j2").write_text(TASK_DEF)
    cfg = config.load(write_app(app_dir, GOOD.replace("task_definition: td.json.j2", "task_definition: ../../shared.json.j2")))
    assert cfg.repo_root == tmp_path.resolve()
    assert cfg.service.task_definition == (tmp_path / "shared.json.j2").resolve()


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("task_definition: td.json.j2", "task_definition: ../td.json.j2", "deployer.yaml:4: `task_definition` ../td.json.j2 is outside the app repository"),
        ("task_definition: td.json.j2", "task_definition: /etc/hostname", "`task_definition` /etc/hostname is outside the app repository (an absolute path)"),
        ("service:\n", "image:\n  context: /tmp\nservice:\n", "deployer.yaml:6: `image.context` /tmp is outside the app repository"),
        ("service:\n", "image:\n  dockerfile: ../Dockerfile\nservice:\n", "`image.dockerfile` ../Dockerfile is outside the app repository"),
    ],
)
def test_files_outside_the_repository_are_refused(tmp_path, old, new, message):
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / ".git").mkdir()
    (tmp_path / "td.json.j2").write_text(TASK_DEF)
    with pytest.raises(BadInput) as caught:
        config.load(write_app(app_dir, GOOD.replace(old, new)))
    assert message in caught.value.message


def test_symlink_out_of_the_repository_is_refused(tmp_path):
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (tmp_path / "outside.json").write_text("OUTSIDE")
    (app_dir / "linked.json.j2").symlink_to(tmp_path / "outside.json")
    with pytest.raises(BadInput, match=r"`task_definition` linked.json.j2 is outside the app repository \(a symlink to .*outside.json\)") as caught:
        config.load(write_app(app_dir, GOOD.replace("td.json.j2", "linked.json.j2")))
    assert "OUTSIDE" not in caught.value.message


def test_env_allow_and_plaintext_switch(tmp_path):
    cfg = config.load(write_app(tmp_path, GOOD + "env_allow: [STAGE, BUILD_ID]\nallow_plaintext_secrets: true\n"))
    assert cfg.env_allow == ["STAGE", "BUILD_ID"] and cfg.allow_plaintext_secrets is True
    assert config.load(write_app(tmp_path, GOOD)).env_allow is None
    with pytest.raises(BadInput, match=r"deployer.yaml:7: `env_allow` AWS_SESSION_TOKEN: an AWS credential variable"):
        config.load(write_app(tmp_path, GOOD + "env_allow: [STAGE, AWS_SESSION_TOKEN]\n"))


@pytest.mark.parametrize(
    "text, message",
    [
        (GOOD + "vars:\n  a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" + "".join(f"  l{i}: &l{i} [" + ", ".join([f"*{'a' if i == 0 else f'l{i - 1}'}"] * 10) + "]\n" for i in range(8)), "YAML aliases expand to more than"),
        (GOOD + "vars:\n  deep: " + "[" * 5000 + "]" * 5000 + "\n", "deployer.yaml:8: invalid YAML: nested too deep (more than 200 levels"),
        (GOOD.replace("service:\n  port: 8080\n", "services: [null]\n"), "deployer.yaml:5: `services[0]` must be a mapping, got null"),
        (GOOD.replace("service:\n  port: 8080\n", "services: []\n"), "`services` must list at least one service"),
        (GOOD + "region: 'not a region!'\n", "deployer.yaml:7: `region` is not an AWS region name"),
    ],
    ids=["billion laughs", "deep", "services null", "services empty", "region"],
)
def test_hostile_yaml_is_one_clear_error(tmp_path, text, message):
    with pytest.raises(BadInput) as caught:
        config.load(write_app(tmp_path, text))
    assert message in caught.value.message


def test_bytes_that_are_not_text(tmp_path):
    path = write_app(tmp_path, GOOD)
    path.write_bytes(GOOD.encode() + b"vars: {a: \xc3\x28}\n")
    with pytest.raises(BadInput, match=r"deployer.yaml:7: not UTF-8 text \(byte 0xc3\)"):
        config.load(path)
    path.write_bytes(GOOD.encode() + b"vars: {a: \x01}\n")
    with pytest.raises(BadInput, match=r"deployer.yaml:7: invalid YAML: control character '\\x01'"):
        config.load(path)
