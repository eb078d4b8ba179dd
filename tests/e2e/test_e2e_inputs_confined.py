"""Every input deployer reads follows one rule (issue 17), end to end with the real `deployer` command:

- every file (deployer.yaml itself, templates, includes, the Dockerfile, build-secret files) resolves
  inside the app repository, symlinks followed; the repository is judged from where the config is,
  never from a symlink's target; a refused file is never read, so no error or JSON result quotes it;
- `init` never writes through a symlink that leads out of the repository;
- credential variables reach neither templates nor builds unless `env_allow:` names them, and a
  secret value (an allowed credential variable, a secret --var) stays secret: masked, refused in a
  definition unless `allow_plaintext_secrets`, and no template transformation prints it.

Every refusal: exit 2, a message naming the file or field, the outside content (a canary) nowhere in
stdout or stderr, AWS unchanged.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.conftest import ecs_state, image_ref

TD = "ecs-task-def.json.j2"
YAML = "deployer.yaml"
CANARY = "OUTSIDE-CANARY-7f3a"
LOG_LEVEL = '"{{ vars.log_level }}"'
GITHUB_TOKEN = "ghs_GitHubInstallationTok3nValue0123456789"
RUNTIME_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOi.runtime-token-value-0123"
NPM_SECRET = "npm-s3cret-value-for-the-build"
VAR_SECRET = "hunter2-s3cret-from-the-var"
AKIA = "AKIAIOSFODNN7EXAMPLE"


def cluster(platform) -> str:
    return platform["outputs"]["ClusterName"]


def outside_dir(tmp_path):
    """A directory next to the app repository, its files full of the canary."""
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    return outside


def refused(result, *expected: str, secrets: tuple[str, ...] = ()) -> None:
    out = result.stdout + result.stderr
    assert result.code == 2, out
    for text in expected:
        assert text in out, f"{text!r} not in:\n{out}"
    for value in (CANARY, *secrets):
        assert value not in out and value[::-1] not in out, f"{value!r} leaked:\n{out}"


# ---------------------------------------------------------------------------------------
# deployer.yaml itself


@pytest.mark.parametrize("args", [("render", "-o", "json"), ("deploy", "--dry-run", "-o", "json", "--image", "repo:tag"), ("diff",), ("iam-policy",)])
def test_a_config_symlinked_out_of_the_repository_is_refused_unread(app, aws, platform, tmp_path, args):
    """The committed deployer.yaml is a symlink to a file outside: its content used to be quoted in the
    error and in the JSON result."""
    outside = outside_dir(tmp_path)
    (outside / "secret.yaml").write_text(f"app: web\n{CANARY}: 1\n")
    (app.path / YAML).unlink()
    os.symlink(outside / "secret.yaml", app.path / YAML)
    before = ecs_state(aws, cluster(platform))
    result = app.cli(*args)
    refused(result, "deployer.yaml is outside the app repository (a symlink to")
    if "json" in args:
        assert result.json["exit_code"] == 2 and CANARY not in json.dumps(result.json)
    assert ecs_state(aws, cluster(platform)) == before


def test_a_config_symlinked_to_a_whole_outside_project_renders_nothing_from_it(app, aws, platform, tmp_path):
    """A symlink to an outside deployer.yaml made deployer render that project's templates (from outside the repo)."""
    outside = outside_dir(tmp_path) / "project"
    shutil.copytree(app.path, outside, ignore=shutil.ignore_patterns(".git"))
    (outside / TD).write_text((outside / TD).read_text().replace(LOG_LEVEL, f'"{CANARY}"'))
    (app.path / YAML).unlink()
    os.symlink(outside / YAML, app.path / YAML)
    before = ecs_state(aws, cluster(platform))
    for args in (("render", "-o", "json"), ("deploy", "--image", image_ref(platform, "v1"))):
        refused(app.cli(*args), "deployer.yaml is outside the app repository")
    assert ecs_state(aws, cluster(platform)) == before


def test_a_config_symlinked_inside_the_repository_still_works(app, aws, platform):
    (app.path / YAML).rename(app.path / "deploy.yaml")
    os.symlink("deploy.yaml", app.path / YAML)
    result = app.cli("render", "-o", "json", "--image", "repo:tag")
    assert result.code == 0, result.stderr
    assert result.json["web"]["taskDefinition"]["family"] == "web"


def test_a_config_given_with_c_through_a_symlinked_directory_is_judged_where_it_is_given(app, aws, platform, tmp_path):
    """-c conf/deployer.yaml where `conf` is a committed symlink to an outside directory."""
    outside = outside_dir(tmp_path) / "conf"
    shutil.copytree(app.path, outside, ignore=shutil.ignore_patterns(".git"))
    (outside / TD).write_text((outside / TD).read_text().replace(LOG_LEVEL, f'"{CANARY}"'))
    os.symlink(outside, app.path / "conf")
    refused(app.cli("render", "-c", "conf/deployer.yaml", "--image", "repo:tag"), "conf/deployer.yaml is outside the app repository")


def test_a_nul_byte_in_a_path_is_bad_input_not_a_crash(app, aws, platform):
    app.edit(YAML, "task_definition: ecs-task-def.json.j2", 'task_definition: "ecs-task-def\\0.json.j2"')
    result = app.cli("render", "--image", "repo:tag")
    refused(result, "deployer.yaml:17: `task_definition` ", "the path contains a NUL byte")
    assert "unexpected error" not in result.stderr


# ---------------------------------------------------------------------------------------
# Templates and includes through a symlinked directory


@pytest.mark.parametrize("edit, expected", [
    ((YAML, "task_definition: ecs-task-def.json.j2", "task_definition: templates/td.json.j2"), "deployer.yaml:17: `task_definition` templates/td.json.j2 is outside the app repository (a symlink to"),
    ((TD, '"cpu": "256",', '"cpu": "256", {% include "templates/td.json.j2" %}'), "ecs-task-def.json.j2:5: include `templates/td.json.j2` is outside the app repository"),
], ids=["task_definition", "include"])
def test_a_symlinked_template_directory_out_of_the_repository_is_refused(app, aws, platform, tmp_path, edit, expected):
    outside = outside_dir(tmp_path) / "templates"
    outside.mkdir()
    (outside / "td.json.j2").write_text('{"family": "web", "' + CANARY + '": 1}')
    os.symlink(outside, app.path / "templates")
    app.edit(*edit)
    before = ecs_state(aws, cluster(platform))
    refused(app.cli("deploy", "--image", image_ref(platform, "v1")), expected)
    assert ecs_state(aws, cluster(platform)) == before


def test_a_template_that_is_a_device_or_huge_is_refused_unread(app, aws, platform):
    (app.path / "big.json.j2").write_text("{" + " " * (1024 * 1024 + 10) + "}")
    app.edit(YAML, "task_definition: ecs-task-def.json.j2", "task_definition: big.json.j2")
    refused(app.cli("render", "--image", "repo:tag"), "big.json.j2: ", "more than the 1048576 bytes a file of deployer may have")


# ---------------------------------------------------------------------------------------
# init never writes through a symlink out of the repository


def test_init_overwrite_refuses_a_template_symlinked_out_of_the_repository(app, aws, platform, tmp_path):
    assert app.cli("deploy", "--image", image_ref(platform, "v1")).code == 0
    outside = outside_dir(tmp_path)
    victim = outside / "victim.txt"
    victim.write_text(CANARY)
    (app.path / TD).unlink()
    os.symlink(victim, app.path / TD)
    config_before = (app.path / YAML).read_text()
    result = app.cli("init", "--cluster", cluster(platform), "--service", "web", "--stack", platform["stack"], "--dir", str(app.path), "--overwrite")
    refused(result, f"{app.path / TD} (a symlink) is outside the app repository")
    assert victim.read_text() == CANARY  # not written through
    assert (app.path / YAML).read_text() == config_before  # nothing written at all
    assert os.readlink(app.path / TD) == str(victim)


def test_init_overwrite_writes_a_template_symlinked_inside_the_repository(app, aws, platform, tmp_path):
    assert app.cli("deploy", "--image", image_ref(platform, "v1")).code == 0
    (app.path / "templates").mkdir()
    (app.path / TD).rename(app.path / "templates" / TD)
    os.symlink(f"templates/{TD}", app.path / TD)
    result = app.cli("init", "--cluster", cluster(platform), "--service", "web", "--stack", platform["stack"], "--dir", str(app.path), "--overwrite")
    assert result.code == 0, result.stderr
    assert os.path.islink(app.path / TD) and '"{{ image }}"' in (app.path / "templates" / TD).read_text()
    assert not list(app.path.glob(".*.deployer-*.tmp"))


# ---------------------------------------------------------------------------------------
# The Dockerfile and build secrets (refused before anything is pulled, built or pushed)


def test_a_dockerfile_symlinked_out_of_the_repository_is_refused(app, aws, platform, tmp_path):
    outside = outside_dir(tmp_path)
    (outside / "Dockerfile").write_text(f"FROM scratch\n# {CANARY}\n")
    (app.path / "Dockerfile").unlink()
    os.symlink(outside / "Dockerfile", app.path / "Dockerfile")
    before = ecs_state(aws, cluster(platform))
    for args in (("build",), ("release",)):
        refused(app.cli(*args), "`image.dockerfile` Dockerfile is outside the app repository (a symlink to")
    assert ecs_state(aws, cluster(platform)) == before


@pytest.mark.parametrize("secrets, flags, expected", [
    ("{environ: 'src:/proc/self/environ'}", (), "build secret 'environ' (deployer.yaml image.secrets.environ): file /proc/self/environ is outside the app repository"),
    ("{x: 'src:../outside/secret.txt'}", (), "build secret 'x' (deployer.yaml image.secrets.x): file ../outside/secret.txt is outside the app repository"),
    ("{x: 'src:linked-secret'}", (), "file linked-secret is outside the app repository (a symlink to"),
    ("{}", ("--secret", "id=environ,src=/proc/self/environ"), "build secret 'environ' (--secret): file /proc/self/environ: is a file the kernel makes up"),
    ("{aws: 'env:AWS_SECRET_ACCESS_KEY'}", (), "build secret 'aws' (deployer.yaml image.secrets.aws): AWS_SECRET_ACCESS_KEY is an AWS credential variable"),
    ("{aws: 'env:AWS_SESSION_TOKEN'}", (), "AWS_SESSION_TOKEN is an AWS credential variable"),
    ("{}", ("--secret", "id=aws,env=AWS_SECRET_ACCESS_KEY"), "build secret 'aws' (--secret): AWS_SECRET_ACCESS_KEY is an AWS credential variable"),
    ("{gh: 'env:GITHUB_TOKEN'}", (), "build secret 'gh' (deployer.yaml image.secrets.gh): GITHUB_TOKEN is a credential variable"),
    ("{npm: 'env:NPM_TOKEN'}", (), "NPM_TOKEN is a credential variable (a CI token, or a name that says it holds a secret); deployer.yaml may hand it to the build only when `env_allow:` names it"),
], ids=["proc environ", "dotdot", "symlink", "flag proc environ", "aws secret key", "aws session token", "flag aws secret key", "github token", "npm token"])
def test_build_secrets_that_read_credentials_or_outside_files_are_refused(app, aws, platform, tmp_path, secrets, flags, expected):
    outside = outside_dir(tmp_path)
    (outside / "secret.txt").write_text(CANARY)
    os.symlink(outside / "secret.txt", app.path / "linked-secret")
    app.edit(YAML, "  build_args: {}", f"  build_args: {{}}\n  secrets: {secrets}")
    before = ecs_state(aws, cluster(platform))
    env = {"AWS_SECRET_ACCESS_KEY": "aws-secret-0123456789abcdef", "AWS_SESSION_TOKEN": "aws-session-0123456789", "GITHUB_TOKEN": GITHUB_TOKEN, "NPM_TOKEN": NPM_SECRET}
    for command in ("build", "release"):
        result = app.cli(command, *flags, env=env)
        refused(result, expected, secrets=tuple(env.values()))
        assert "builder:" not in result.stderr  # refused before any build
    assert ecs_state(aws, cluster(platform)) == before


# ---------------------------------------------------------------------------------------
# Credential variables in templates


@pytest.mark.parametrize("name, value", [("GITHUB_TOKEN", GITHUB_TOKEN), ("ACTIONS_RUNTIME_TOKEN", RUNTIME_TOKEN), ("CI_JOB_JWT_V2", RUNTIME_TOKEN), ("DB_PASSWORD", VAR_SECRET)])
@pytest.mark.parametrize("function", ["env", "must_env"])
def test_credential_variables_are_not_readable_from_templates(app, aws, platform, name, value, function):
    """env('GITHUB_TOKEN') and env('ACTIONS_RUNTIME_TOKEN') were registered in plaintext."""
    app.edit(TD, LOG_LEVEL, f"\"{{{{ {function}('{name}') }}}}\"")
    before = ecs_state(aws, cluster(platform))
    for args in (("render", "--image", "repo:tag", "-o", "json"), ("deploy", "--image", image_ref(platform, "v1"))):
        refused(app.cli(*args, env={name: value}), f"ecs-task-def.json.j2:16: {function}('{name}'): a credential variable", "`env_allow:`", secrets=(value,))
    assert ecs_state(aws, cluster(platform)) == before


def test_an_allowed_credential_variable_stays_a_secret(app, aws, platform):
    app.edit(YAML, "vars:\n", "env_allow: [GITHUB_TOKEN]\nvars:\n")
    app.edit(TD, LOG_LEVEL, "\"{{ env('GITHUB_TOKEN') }}\"")
    env = {"GITHUB_TOKEN": GITHUB_TOKEN}
    before = ecs_state(aws, cluster(platform))
    # Allowed to read, but a definition is readable by anyone with ecs:DescribeTaskDefinition.
    result = app.cli("deploy", "--image", image_ref(platform, "v1"), env=env)
    refused(result, "container `app` variable `LOG_LEVEL` gets the environment variable GITHUB_TOKEN as a plain environment value", secrets=(GITHUB_TOKEN,))
    assert ecs_state(aws, cluster(platform)) == before
    # Stored on purpose: registered, and masked in every output.
    app.edit(YAML, "vars:\n", "allow_plaintext_secrets: true\nvars:\n")
    for args in (("render", "--image", "repo:tag", "-o", "json"), ("deploy", "--image", image_ref(platform, "v1"), "-o", "json", "-v")):
        result = app.cli(*args, env=env)
        assert result.code == 0, result.stderr
        assert GITHUB_TOKEN not in result.stdout + result.stderr, result.stdout + result.stderr
        if args[0] == "render":
            assert "****" in result.stdout
    registered = aws.client("ecs").describe_task_definition(taskDefinition="web:1")["taskDefinition"]
    assert {"name": "LOG_LEVEL", "value": GITHUB_TOKEN} in registered["containerDefinitions"][0]["environment"]


@pytest.mark.parametrize("expression", [
    "env('GITHUB_TOKEN') | reverse",
    "env('GITHUB_TOKEN')[4:]",
    "env('GITHUB_TOKEN')[::-1]",
    "env('GITHUB_TOKEN') | list | join('.')",
    "env('GITHUB_TOKEN') | upper",
    "env('GITHUB_TOKEN').replace('_', '-')",
    "env('GITHUB_TOKEN') | join('.')",
])
def test_a_secret_cannot_be_transformed_past_the_masker(app, aws, platform, expression):
    app.edit(YAML, "vars:\n", "env_allow: [GITHUB_TOKEN]\nallow_plaintext_secrets: true\nvars:\n")
    app.edit(TD, LOG_LEVEL, '"{{ ' + expression + ' }}"')
    forms = (GITHUB_TOKEN, GITHUB_TOKEN[4:], GITHUB_TOKEN.upper(), GITHUB_TOKEN.replace("_", "-"), ".".join(GITHUB_TOKEN))
    before = ecs_state(aws, cluster(platform))
    for args in (("render", "--image", "repo:tag", "-o", "json"), ("deploy", "--image", image_ref(platform, "v1"))):
        refused(app.cli(*args, env={"GITHUB_TOKEN": GITHUB_TOKEN}), "ecs-task-def.json.j2: `containerDefinitions[0].environment[0].value` has a transformed secret", secrets=forms)
    assert ecs_state(aws, cluster(platform)) == before


# ---------------------------------------------------------------------------------------
# A --var that is a secret


@pytest.mark.parametrize("var, value", [("db_password", VAR_SECRET), ("log_level", AKIA), ("log_level", GITHUB_TOKEN)], ids=["secret name", "AKIA value", "token value"])
def test_a_secret_var_is_masked_and_kept_out_of_definitions(app, aws, platform, var, value):
    if var != "log_level":
        app.edit(TD, LOG_LEVEL, '"{{ vars.' + var + ' }}"')
    before = ecs_state(aws, cluster(platform))
    for args in (("render", "--image", "repo:tag"), ("render", "--image", "repo:tag", "-o", "json"), ("deploy", "--dry-run", "--image", image_ref(platform, "v1")),
                 ("deploy", "--dry-run", "-o", "json", "--image", image_ref(platform, "v1")), ("deploy", "--image", image_ref(platform, "v1"), "-o", "json")):
        refused(app.cli(*args, "--var", f"{var}={value}"), f"gets the --var {var} as a plain environment value", secrets=(value,))
    assert ecs_state(aws, cluster(platform)) == before
    app.edit(YAML, "vars:\n", "allow_plaintext_secrets: true\nvars:\n")
    for args in (("render", "--image", "repo:tag", "-o", "json"), ("deploy", "--dry-run", "-o", "json", "--image", image_ref(platform, "v1")), ("deploy", "--image", image_ref(platform, "v1"), "-o", "json")):
        result = app.cli(*args, "--var", f"{var}={value}")
        assert result.code == 0, result.stderr
        assert value not in result.stdout + result.stderr
    registered = aws.client("ecs").describe_task_definition(taskDefinition="web:1")["taskDefinition"]
    assert {"name": "LOG_LEVEL", "value": value} in registered["containerDefinitions"][0]["environment"]


def test_a_secret_var_is_masked_in_errors_too(app, aws, platform):
    app.edit(YAML, "vars:\n", "allow_plaintext_secrets: true\nvars:\n")
    app.edit(TD, '"cpu": "256",', '"cpu": "256", "x": "{{ vars.api_token }}",,')
    result = app.cli("render", "--image", "repo:tag", "-o", "json", "--var", f"api_token={VAR_SECRET}")
    refused(result, "not valid JSON", secrets=(VAR_SECRET,))


def test_ordinary_vars_and_env_values_are_untouched(app, aws, platform):
    app.edit(TD, LOG_LEVEL, "\"{{ vars.log_level }}-{{ env('STAGE') }}-{{ vars.sha }}\"")
    sha = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
    result = app.cli("render", "--image", "repo:tag", "-o", "json", "--var", "log_level=debug", "--var", f"sha={sha}", env={"STAGE": "blue"})
    assert result.code == 0, result.stderr
    env = result.json["web"]["taskDefinition"]["containerDefinitions"][0]["environment"]
    assert {"name": "LOG_LEVEL", "value": f"debug-blue-{sha}"} in env
