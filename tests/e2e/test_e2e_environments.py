"""One deployer.yaml, several accounts: `environments:`, --env / DEPLOYER_ENV, each environment under
its own role in its own account (the local AWS has three: tests/e2e/multi_account.py)."""

from __future__ import annotations

from tests.e2e import multi_account as ma


def test_env_all_names_each_environment_with_its_account(aws, app):
    accounts = ma.setup(aws, app)
    shown = app.cli("env", "--all")
    assert shown.code == 0, shown.stderr
    assert f"account       {ma.STAGING} (role arn:aws:iam::{ma.STAGING}:role/deployer-release)" in shown.stdout
    assert f"account       {ma.PROD} (role arn:aws:iam::{ma.PROD}:role/deployer-release)" in shown.stdout
    listed = app.cli("env", "--all", "--output", "json")
    assert listed.code == 0, listed.stderr
    by_name = {e["environment"]: e for e in listed.json["environments"]}
    assert {n: e["account"] for n, e in by_name.items()} == {"staging": ma.STAGING, "prod": ma.PROD}
    for name in ("staging", "prod"):
        assert by_name[name]["stack"] == accounts.stacks[name][0]
        assert by_name[name]["cluster"] == accounts.cluster(name)
        assert by_name[name]["region"] == "us-east-1"
        # the management account's repository for both, not the environment's own output
        assert by_name[name]["repository"] == accounts.repository
        assert by_name[name]["outputs"]["TaskRoleArn"].startswith(f"arn:aws:iam::{ACCOUNT[name]}:role/")



def test_env_all_shows_every_environment_it_can_and_fails_naming_the_one_it_cannot(aws, app):
    """prod's role does not trust the caller: staging is still shown in full, prod with AWS's refusal
    (quoted as untrusted text), and the command exits 3 (AWS refused) — in text and in JSON."""
    accounts = ma.setup(aws, app)
    prod_role = f"arn:aws:iam::{ma.PROD}:role/{ma.ROLE}"
    aws.iam.untrusted_roles.add(prod_role)
    try:
        shown = app.cli("env", "--all")
        listed = app.cli("env", "--all", "--output", "json")
    finally:
        aws.iam.untrusted_roles.clear()
    assert shown.code == 3, shown.stderr
    blocks = {b.split("\n", 1)[0]: b for b in shown.stdout.strip().split("\n\n")}
    assert set(blocks) == {"staging", "prod"}
    assert f"account       {ma.STAGING} (role arn:aws:iam::{ma.STAGING}:role/deployer-release)" in blocks["staging"]
    assert f"cluster       {accounts.cluster('staging')}" in blocks["staging"]
    assert blocks["prod"].splitlines()[1].startswith("  error         AWS refused while ")
    assert f"not authorized to perform: sts:AssumeRole on resource: {prod_role}" in blocks["prod"]
    assert f"  role          {prod_role}" in blocks["prod"]
    assert "prod: AWS refused while" in shown.stderr and "1 of 2 environment(s) could not be read: prod (exit 3)" in shown.stderr
    assert "Traceback" not in shown.stderr

    assert listed.code == 3, listed.stderr
    by_name = {e["environment"]: e for e in listed.json["environments"]}
    assert by_name["staging"]["account"] == ma.STAGING and by_name["staging"]["cluster"] == accounts.cluster("staging")
    assert set(by_name["prod"]) <= {"environment", "role_arn", "error", "exit_code", "hint"}
    assert by_name["prod"]["role_arn"] == prod_role and by_name["prod"]["exit_code"] == 3
    assert f"sts:AssumeRole on resource: {prod_role}" in by_name["prod"]["error"]
    assert (listed.json["status"], listed.json["failed"], listed.json["exit_code"]) == ("error", ["prod"], 3)


def test_env_all_with_a_stack_that_cannot_be_read_lists_the_others(aws, app):
    """staging names a stack that is not there (deleted, or a typo): prod is shown, staging's error names
    the stack, and the exit code is the one `deployer env --env staging` exits with."""
    ma.setup(aws, app)
    text = app.path.joinpath("deployer.yaml").read_text()
    app.path.joinpath("deployer.yaml").write_text(text.replace("  staging:\n    stack: ", "  staging:\n    stack: gone-"))
    app.commit("a stack that is not there")
    listed = app.cli("env", "--all", "--output", "json")
    assert listed.code in (2, 3), listed.stderr
    by_name = {e["environment"]: e for e in listed.json["environments"]}
    assert by_name["prod"]["account"] == ma.PROD and "error" not in by_name["prod"]
    assert "gone-" in by_name["staging"]["error"], by_name["staging"]
    assert listed.json["failed"] == ["staging"] and listed.json["exit_code"] == by_name["staging"]["exit_code"] == listed.code
    # The same code as `deployer env --env staging` alone.
    alone = app.cli("env", "--env", "staging")
    assert alone.code == listed.code, alone.stderr


ACCOUNT = ma.ACCOUNTS


def test_deploy_env_staging_touches_staging_only(aws, app):
    accounts = ma.setup(aws, app)
    digest = accounts.push("1.0.0")
    prod_before = accounts.state("prod")
    done = app.cli("deploy", "--env", "staging", "--image", f"{accounts.repository}@{digest}", "--output", "json")
    assert done.code == 0, done.stderr
    assert done.json["task_definition"] == f"arn:aws:ecs:us-east-1:{ma.STAGING}:task-definition/web:1"
    staging = accounts.state("staging")
    assert staging["service_task_definition"] == done.json["task_definition"]
    assert accounts.state("prod") == prod_before
    # DEPLOYER_ENV is --env's default: the same, with the variable
    again = accounts.push("1.1.0")
    by_variable = app.cli("deploy", "--image", f"{accounts.repository}@{again}", "--output", "json", env={"DEPLOYER_ENV": "staging"})
    assert by_variable.code == 0, by_variable.stderr
    assert by_variable.json["task_definition"].endswith(f":{ma.STAGING}:task-definition/web:2")
    assert accounts.state("prod") == prod_before
    # --env wins over DEPLOYER_ENV
    status = app.cli("status", "--env", "staging", "--output", "json", env={"DEPLOYER_ENV": "prod"})
    assert status.code == 0, status.stderr
    assert status.json["services"][0]["task_definition"].endswith("web:2")


def test_an_environment_is_never_guessed(aws, app):
    accounts = ma.setup(aws, app)
    states = {env: accounts.state(env) for env in ("staging", "prod")}
    digest = accounts.push("1.0.0")
    missing = app.cli("deploy", "--image", f"{accounts.repository}@{digest}")
    assert missing.code == 2
    assert "defines environments (prod, staging): pass --env NAME (or set DEPLOYER_ENV)" in missing.stderr
    unknown = app.cli("deploy", "--env", "production", "--image", f"{accounts.repository}@{digest}")
    assert unknown.code == 2
    assert "--env production: no such environment in deployer.yaml (environments: prod, staging)" in unknown.stderr
    from_variable = app.cli("status", env={"DEPLOYER_ENV": "qa"})
    assert from_variable.code == 2 and "DEPLOYER_ENV=qa: no such environment" in from_variable.stderr
    for command in (["env"], ["status"], ["render"], ["verify"], ["wait"], ["rollback", "--yes"]):
        refused = app.cli(*command)
        assert refused.code == 2, (command, refused.stderr)
        assert "pass --env NAME" in refused.stderr
    assert {env: accounts.state(env) for env in ("staging", "prod")} == states


def test_one_environment_alone_is_not_picked_either(aws, app):
    ma.setup(aws, app)
    text = app.path.joinpath("deployer.yaml").read_text()
    start, end = text.index("  prod:\n"), text.index("task_definition:")
    app.path.joinpath("deployer.yaml").write_text(text[:start] + text[end:])
    refused = app.cli("env")
    assert refused.code == 2 and "defines environments (staging): pass --env NAME" in refused.stderr
    assert app.cli("env", "--env", "staging").code == 0


def test_env_flag_without_environments_is_bad_input(app):
    refused = app.cli("env", "--env", "staging")
    assert refused.code == 2
    assert "--env staging: deployer.yaml has no `environments:`" in refused.stderr
    refused = app.cli("status", env={"DEPLOYER_ENV": "staging"})
    assert refused.code == 2 and "DEPLOYER_ENV=staging: deployer.yaml has no `environments:`" in refused.stderr
    assert app.cli("env").code == 0  # today's single-environment config as before


def test_the_everyday_commands_take_env_too(aws, app):
    """logs, tasks, scale, restart, policy (and exec, port-forward) read deployer.yaml like deploy does: with
    `environments:` they need --env or DEPLOYER_ENV, and act in that environment's account only."""
    accounts = ma.setup(aws, app)
    digest = accounts.push("1.0.0")
    assert app.cli("deploy", "--env", "staging", "--image", f"{accounts.repository}@{digest}").code == 0
    prod_before = accounts.state("prod")
    tasks = app.cli("tasks", "--env", "staging", "--output", "json")
    assert tasks.code == 0, tasks.stderr
    assert tasks.json["tasks"] and all(f":{ma.STAGING}:task/" in t["task_arn"] for t in tasks.json["tasks"]), tasks.json
    scaled = app.cli("scale", "--desired-count", "3", "--force", "--output", "json", env={"DEPLOYER_ENV": "staging"})
    assert scaled.code == 0, scaled.stderr
    staging = accounts.client("staging", "ecs").describe_services(cluster=accounts.cluster("staging"), services=["web"])["services"][0]
    assert staging["desiredCount"] == 3
    for command in (["logs", "--since", "5m"], ["restart"], ["policy"]):
        done = app.cli(*command, "--env", "staging")
        assert done.code == 0, (command, done.stderr)
    assert accounts.state("prod") == prod_before
    refused = app.cli("logs", "--since", "5m")
    assert refused.code == 2 and "pass --env NAME" in refused.stderr


def test_per_environment_desired_count(aws, app):
    accounts = ma.setup(aws, app, prod_extra="    services:\n      web: {desired_count: 3}\n")
    digest = accounts.push("1.0.0")
    for env in ("staging", "prod"):
        assert app.cli("deploy", "--env", env, "--image", f"{accounts.repository}@{digest}").code == 0
    counts = {env: accounts.client(env, "ecs").describe_services(cluster=accounts.cluster(env), services=["web"])["services"][0]["desiredCount"]
              for env in ("staging", "prod")}
    assert counts == {"staging": 2, "prod": 3}


def test_environment_sessions_are_named_and_ecr_is_read_as_the_caller(aws, app):
    """deployer reads ECR with the caller's (management account's) credentials: moto's ECR has no
    cross-account access, so a look-up under staging's role would not find the repository."""
    from tests.conftest import git

    accounts = ma.setup(aws, app)
    commit = git(app.path, "rev-parse", "HEAD")
    digest = accounts.push(commit)  # the commit's tag, as `deployer release` would have pushed it
    checked = app.cli("verify", "--env", "staging", "--output", "json", "-v")
    assert checked.code == 0, checked.stderr
    assert f"sts.AssumeRole arn:aws:iam::{ma.STAGING}:role/deployer-release as deployer-web-staging" in checked.stderr
    image = next(c for c in checked.json["checks"] if c["name"] == "image")
    assert image == {"name": "image", "status": "pass", "reason": f"{accounts.repository}:{commit} exists ({digest[:19]}…)"}
    cluster = next(c for c in checked.json["checks"] if c["name"] == "cluster")
    assert cluster["reason"] == "cluster staging is ACTIVE"  # staging's cluster, in staging's account


def test_iam_policy_of_an_environment_role(aws, app):
    """`iam-policy --env prod`: the policy of prod's deployer-release role — prod's resources, and no ECR
    statement (the repository is in the management account, pushed to with the caller's role)."""
    import json

    ma.setup(aws, app)
    printed = app.cli("iam-policy", "--env", "prod", "-v")
    assert printed.code == 0, printed.stderr
    statements = json.loads(printed.stdout)["Statement"]
    assert not [s["Sid"] for s in statements if s["Sid"].startswith("Ecr")]
    cluster = next(s for s in statements if s["Sid"] == "EcsCluster")
    assert cluster["Resource"] == f"arn:aws:ecs:us-east-1:{ma.PROD}:cluster/prod"


def test_env_all_refuses_env_but_is_not_narrowed_by_deployer_env(aws, app):
    """--all lists every environment: an --env beside it is a mistake (exit 2, named); DEPLOYER_ENV, set for
    the other commands of a shell or a build, does not narrow it."""
    ma.setup(aws, app)
    refused = app.cli("env", "--all", "--env", "staging")
    assert refused.code == 2 and "error: --all lists every environment; drop --env" in refused.stderr
    listed = app.cli("env", "--all", "--output", "json", env={"DEPLOYER_ENV": "prod"})
    assert listed.code == 0, listed.stderr
    assert {e["environment"] for e in listed.json["environments"]} == {"staging", "prod"}
    one = app.cli("env", "--output", "json", env={"DEPLOYER_ENV": "prod"})
    assert one.code == 0 and one.json["environment"] == "prod", (one.stderr, one.stdout)
