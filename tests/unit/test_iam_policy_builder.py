"""The IAM policies of `deployer iam-policy`, built from plain inputs (deployer/release/iam_policy.py and, for
`--for adopt`, deployer/onboard/adopt_policy.py): no AWS, no deployer.yaml, no `run`."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from deployer.core.errors import BadInput
from deployer.onboard.adopt_policy import AdoptPolicyInputs, adopt_policy
from deployer.release.iam_policy import USES, PolicyInputs, Schedule, Service, iam_policy, partition_of

ACCOUNT = "123456789012"


def task_definition(*, secrets=(), roles=("demo-execution", "demo-task"), log_group="/ecs/web", log_region=None) -> dict:
    options = {"awslogs-group": log_group, **({"awslogs-region": log_region} if log_region else {})}
    return {"family": "web", "executionRoleArn": roles[0], "taskRoleArn": roles[1], "containerDefinitions": [
        {"name": "web", "secrets": [{"name": f"S{i}", "valueFrom": ref} for i, ref in enumerate(secrets)],
         "logConfiguration": {"logDriver": "awslogs", "options": options}}]}


def rendered(td: dict, *, reads=(), create=None, update=None):
    """What manifest/render.py renders for one service, the parts the policies read."""
    return SimpleNamespace(task_definition=td, reads=set(reads),
                           service_definition=SimpleNamespace(create_params=create or {}, update_params=update or {}))


def inputs(**changes) -> PolicyInputs:
    region = changes.pop("region", "eu-west-1")
    suffix = ".cn" if region.startswith("cn-") else ""
    base = dict(account=ACCOUNT, region=region, cluster="demo", services=(Service("web", "demo-web"),),
                repository=f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com{suffix}/web", stack="demo-env", app="shop",
                rendered=(rendered(task_definition()),))
    return PolicyInputs(**{**base, **changes})


def statements(policy: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy["Statement"]}


def actions(policy: dict) -> set[str]:
    return {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def resources(statement: dict) -> list[str]:
    return [statement["Resource"]] if isinstance(statement["Resource"], str) else list(statement["Resource"])


# ---- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("use", ["release", "run", "operate"])
def test_no_secrets_no_secrets_manager_statement_and_no_kms(use):
    policy = iam_policy(inputs(), use)
    assert not [a for a in actions(policy) if a.startswith(("secretsmanager:", "kms:"))], policy
    assert "ssm:GetParameter" not in actions(policy)


def test_a_secret_in_another_account_and_region_gets_its_own_arn():
    other = "arn:aws:secretsmanager:us-east-2:210987654321:secret:shared/db-AbCdEf:password::"
    policy = inputs(rendered=(rendered(task_definition(secrets=[other, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-Zz"])),))
    own_arn = "arn:aws:secretsmanager:us-east-2:210987654321:secret:shared/db-AbCdEf"  # the json key and stages dropped
    release, run, operate = (statements(iam_policy(policy, use)) for use in ("release", "run", "operate"))
    assert release["TemplateSecrets"]["Action"] == ["secretsmanager:DescribeSecret"]
    assert release["TemplateSecrets"]["Resource"] == ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-Zz", own_arn]
    assert run["MaskTaskSecretsManager"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert run["MaskTaskSecretsManager"]["Resource"] == operate["MaskTaskSecretsManager"]["Resource"] == release["TemplateSecrets"]["Resource"]
    assert "MaskTaskSecrets" not in run and "DecryptSecureStrings" not in run  # no SSM parameter among them


def test_a_secret_or_parameter_named_without_arn_is_in_the_inputs_account_and_region():
    policy = inputs(region="us-west-2", rendered=(rendered(task_definition(secrets=["/shop/db-password"]), reads=[("secretsmanager", "shop/api-key"), ("ssm", "/shop/flag")]),))
    release = statements(iam_policy(policy, "release"))
    assert release["TemplateSecrets"]["Resource"] == ["arn:aws:secretsmanager:us-west-2:123456789012:secret:shop/api-key-*"]
    assert release["TemplateParameters"]["Resource"] == ["arn:aws:ssm:us-west-2:123456789012:parameter/shop/db-password",
                                                         "arn:aws:ssm:us-west-2:123456789012:parameter/shop/flag"]
    # A template's ssm() decrypts SecureStrings: kms:Decrypt only through SSM in this region.
    assert release["DecryptSecureStrings"]["Condition"] == {"StringEquals": {"kms:ViaService": "ssm.us-west-2.amazonaws.com"}}
    run = statements(iam_policy(policy, "run"))
    assert run["MaskTaskSecrets"]["Resource"] == ["arn:aws:ssm:us-west-2:123456789012:parameter/shop/db-password"]
    assert "DecryptSecureStrings" in run and "MaskTaskSecretsManager" not in run


def test_build_secrets_are_read_from_their_store_and_a_bad_one_names_deployer_yaml():
    policy = statements(iam_policy(inputs(build_secrets=(("npm", "ssm:/ci/npm-token"), ("pip", "secretsmanager:ci/pip"), ("local", "env:TOKEN"))), "release"))
    assert policy["BuildSecretParameters"]["Resource"] == ["arn:aws:ssm:eu-west-1:123456789012:parameter/ci/npm-token"]
    assert policy["BuildSecretsManager"] == {"Sid": "BuildSecretsManager", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                                            "Resource": ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:ci/pip-*"]}
    assert "DecryptSecureStrings" in policy
    with pytest.raises(BadInput, match=r"app/deployer.yaml image.secrets.npm: 'vault:x' is not a secret source"):
        iam_policy(inputs(build_secrets=(("npm", "vault:x"),), config_path="app/deployer.yaml"), "release")


# ---- schedules --------------------------------------------------------------------------------


def test_a_schedule_adds_scheduler_actions_and_passes_only_its_role():
    role = "arn:aws:iam::123456789012:role/shop-scheduler"
    own = task_definition(roles=("nightly-execution", "nightly-task"), log_group="/ecs/nightly")
    policy = statements(iam_policy(inputs(schedules=(Schedule("shop-nightly", "demo-web-nightly", own),), scheduler_role=role), "release"))
    assert policy["AppSchedules"]["Resource"] == "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/shop-*"
    assert set(policy["AppSchedules"]["Action"]) == {"scheduler:GetSchedule", "scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"}
    assert policy["PassSchedulerRole"] == {"Sid": "PassSchedulerRole", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": role,
                                           "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}}
    assert policy["VerifySchedulerRole"]["Resource"] == role
    # The schedule's own template: its family tagged, its roles passed to ECS tasks only, its log group read.
    assert "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-web-nightly:*" in policy["EcsTagRevisions"]["Resource"]
    assert "arn:aws:iam::123456789012:role/nightly-task" in policy["PassTaskRoles"]["Resource"]
    assert role not in policy["PassTaskRoles"]["Resource"]
    assert policy["PassTaskRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/nightly:*" in policy["ReadFailedTaskLogs"]["Resource"]
    passed = [r for s in policy.values() if "iam:PassRole" in s["Action"] for r in resources(s)]
    assert sorted(passed) == sorted([role, "arn:aws:iam::123456789012:role/demo-execution", "arn:aws:iam::123456789012:role/demo-task",
                                     "arn:aws:iam::123456789012:role/nightly-execution", "arn:aws:iam::123456789012:role/nightly-task"])


def test_without_schedules_the_scheduler_role_is_not_passed():
    policy = statements(iam_policy(inputs(scheduler_role="arn:aws:iam::123456789012:role/shop-scheduler"), "release"))
    assert "PassSchedulerRole" not in policy and "VerifySchedulerRole" not in policy
    assert "ListSchedules" in policy  # a schedule removed from deployer.yaml is still found and deleted


# ---- operate, prune, run, exec ----------------------------------------------------------------


def test_operate_never_writes_task_definitions_or_passes_a_role():
    policy = iam_policy(inputs(rendered=(rendered(task_definition(secrets=["/shop/db"])),)), "operate")
    granted = actions(policy)
    assert not {"ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:CreateService", "iam:PassRole", "ecs:RunTask"} & granted
    assert not [a for a in granted if a.startswith("ecr:")]
    by_sid = statements(policy)
    assert by_sid["ScaleAndRestart"]["Resource"] == ["arn:aws:ecs:eu-west-1:123456789012:service/demo/web"]
    # TagResource (the healthy tag) on the family's revisions and the service, nothing else.
    assert by_sid["RecordDeployments"]["Resource"] == ["arn:aws:ecs:eu-west-1:123456789012:service/demo/web",
                                                       "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-web:*"]
    assert "AutoscalingRange" not in by_sid  # no target now: no range change granted


def test_operate_may_change_the_range_of_the_targets_given_only():
    target = "arn:aws:application-autoscaling:eu-west-1:123456789012:scalable-target/0ec1"
    by_sid = statements(iam_policy(inputs(scalable_targets=(target, target)), "operate"))
    assert by_sid["AutoscalingRange"] == {"Sid": "AutoscalingRange", "Effect": "Allow",
                                          "Action": ["application-autoscaling:RegisterScalableTarget"], "Resource": [target]}


def test_only_prune_deregisters_and_only_release_registers():
    for use in USES:
        granted = actions(iam_policy(inputs(), use))
        assert ("ecs:DeregisterTaskDefinition" in granted) == (use == "prune"), use
        assert ("ecs:RegisterTaskDefinition" in granted) == (use == "release"), use


def test_run_runs_the_services_families_in_the_cluster_only():
    by_sid = statements(iam_policy(inputs(services=(Service("web", "demo-web"), Service("worker", "demo-worker"))), "run"))
    assert by_sid["RunOneOffTasks"]["Resource"] == ["arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-web:*",
                                                    "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo-worker:*"]
    assert by_sid["RunOneOffTasks"]["Condition"] == {"ArnEquals": {"ecs:cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/demo"}}


def test_exec_opens_sessions_in_the_clusters_tasks_and_ends_only_its_own():
    by_sid = statements(iam_policy(inputs(), "exec"))
    assert by_sid["EcsExec"]["Resource"] == ["arn:aws:ecs:eu-west-1:123456789012:cluster/demo", "arn:aws:ecs:eu-west-1:123456789012:task/demo/*"]
    assert "arn:aws:ssm:eu-west-1::document/AWS-StartPortForwardingSession" in by_sid["PortForwarding"]["Resource"]
    assert by_sid["OwnSessions"]["Resource"] == "arn:aws:ssm:eu-west-1:123456789012:session/${aws:userid}-*"


def test_an_unknown_use_is_refused():
    with pytest.raises(BadInput, match="--for 'deploy': one of release, prune, run, exec, operate"):
        iam_policy(inputs(), "deploy")


# ---- the environment, the repository, the guardrails --------------------------------------------


def test_a_proton_environment_is_found_by_its_stack_name_and_proton_is_never_asked():
    plain = statements(iam_policy(inputs(), "prune"))
    assert plain["EnvironmentOutputs"]["Resource"] == "arn:aws:cloudformation:eu-west-1:123456789012:stack/demo-env/*"
    assert "FindProtonStack" not in plain
    policy = iam_policy(inputs(proton_environment="demo", stack="AWSProton-demo-cloudformation--X"), "prune")
    proton = statements(policy)
    assert not any(a.startswith("proton:") for a in actions(policy))
    assert proton["FindProtonStack"]["Action"] == ["cloudformation:ListStacks"]
    assert proton["EnvironmentOutputs"]["Resource"] == "arn:aws:cloudformation:eu-west-1:123456789012:stack/AWSProton-demo-cloudformation--X/*"


def test_a_repository_of_another_account_is_not_pushed_to_by_this_role():
    same = statements(iam_policy(inputs(), "release"))
    assert same["EcrPushOneRepository"]["Resource"] == "arn:aws:ecr:eu-west-1:123456789012:repository/web"
    assert "ecr:PutImage" in same["EcrPushOneRepository"]["Action"]
    other = statements(iam_policy(inputs(repository="999999999999.dkr.ecr.eu-west-1.amazonaws.com/shared/web"), "release"))
    assert "EcrPushOneRepository" not in other and "EcrLogin" not in other
    assert other["ImageRepositoryAccess"]["Resource"] == "arn:aws:ecr:eu-west-1:999999999999:repository/shared/web"
    assert other["ImageRepositoryAccess"]["Action"] == ["ecr:GetRepositoryPolicy", "ecr:DescribeImages"]


@pytest.mark.parametrize("reference, action, resource", [
    ("ssm:/platform/deployer-policy", "ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/platform/deployer-policy"),
    ("s3://platform-policies/deployer-policy.json", "s3:GetObject", "arn:aws:s3:::platform-policies/deployer-policy.json"),
])
def test_the_admins_policy_is_read_where_the_output_says(reference, action, resource):
    by_sid = statements(iam_policy(inputs(policy_reference=reference), "release"))
    assert by_sid["DeployerPolicy"]["Action"] == [action] and by_sid["DeployerPolicy"]["Resource"] == resource
    assert ("DecryptSecureStrings" in by_sid) == (action == "ssm:GetParameter")


def test_an_inline_admins_policy_reads_nothing_and_a_bad_reference_is_refused():
    assert "DeployerPolicy" not in statements(iam_policy(inputs(policy_reference='{"rules": []}'), "release"))
    with pytest.raises(BadInput, match="stack output DeployerPolicy is empty"):
        iam_policy(inputs(policy_reference="  "), "release")


# ---- partitions -------------------------------------------------------------------------------


@pytest.mark.parametrize("region, partition", [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("eu-west-1", "aws")])
@pytest.mark.parametrize("use", USES)
def test_every_resource_is_an_arn_of_the_regions_partition(region, partition, use):
    assert partition_of(region) == partition
    full = inputs(region=region, proton_environment="demo", policy_reference="ssm:/platform/policy",
                  rendered=(rendered(task_definition(secrets=["/shop/db", "shop/api"]), reads=[("ssm", "/shop/flag"), ("secretsmanager", "shop/key")]),),
                  schedules=(Schedule("shop-nightly", "demo-web-nightly", task_definition(roles=("n-exec", "n-task"))),),
                  scheduler_role=f"arn:{partition}:iam::123456789012:role/scheduler", build_secrets=(("npm", "ssm:/ci/npm"), ("pip", "secretsmanager:ci/pip")),
                  scalable_targets=(f"arn:{partition}:application-autoscaling:{region}:123456789012:scalable-target/0ec1",))
    assert full.partition == partition
    policy = iam_policy(full, use)
    named = [r for s in policy["Statement"] for r in resources(s) if r != "*"]
    assert named and all(r.startswith(f"arn:{partition}:") for r in named), [r for r in named if not r.startswith(f"arn:{partition}:")]
    assert all(s["Resource"] for s in policy["Statement"])  # a statement with nothing to name is left out


def test_a_log_group_in_another_region_is_in_that_regions_partition():
    policy = statements(iam_policy(inputs(region="eu-west-1", rendered=(rendered(task_definition(log_region="cn-north-1")),)), "operate"))
    assert policy["ReadLogs"]["Resource"] == ["arn:aws-cn:logs:cn-north-1:123456789012:log-group:/ecs/web:*"]


def test_the_inputs_are_frozen_plain_values():
    with pytest.raises(dataclasses.FrozenInstanceError):
        inputs().region = "us-east-1"  # type: ignore[misc]
    assert inputs(partition="aws-iso").arn("ecs", "cluster/demo") == "arn:aws-iso:ecs:eu-west-1:123456789012:cluster/demo"


# ---- adopt ------------------------------------------------------------------------------------


def adopt(**changes) -> dict[str, dict]:
    base = dict(account=ACCOUNT, region="eu-west-1", cluster="arn:aws:ecs:eu-west-1:123456789012:cluster/prod", service="web", environment_stack="prod-env")
    return statements(adopt_policy(AdoptPolicyInputs(**{**base, **changes})))


def test_adopt_writes_only_to_the_stack_that_owns_the_service():
    by_sid = adopt(owner_stack="legacy-web")
    assert by_sid["HandOverFromOwningStack"]["Resource"] == "arn:aws:cloudformation:eu-west-1:123456789012:stack/legacy-web/*"
    writes = [s for s in by_sid.values() for a in s["Action"] if a in ("cloudformation:UpdateStack", "cloudformation:DeleteStack")]
    assert writes and all(s["Sid"] == "HandOverFromOwningStack" for s in writes)
    assert by_sid["EcsService"]["Resource"] == "arn:aws:ecs:eu-west-1:123456789012:service/prod/web"  # the cluster's name from its ARN
    assert by_sid["EnvironmentOutputs"]["Resource"] == "arn:aws:cloudformation:eu-west-1:123456789012:stack/prod-env/*"
    assert "ProtonEnvironment" not in by_sid


def test_adopt_without_an_owner_has_no_stack_writes_and_never_asks_proton():
    by_sid = adopt(environment_stack="AWSProton-prod-cloudformation--X", region="us-gov-west-1")
    assert "HandOverFromOwningStack" not in by_sid
    assert by_sid["EnvironmentOutputs"]["Resource"] == "arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/AWSProton-prod-cloudformation--X/*"
    assert not any(a.startswith("proton:") for s in by_sid.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    assert all(r == "*" or r.startswith("arn:aws-us-gov:") for s in by_sid.values() for r in resources(s))
