"""`deployer iam-policy --for release|prune|run|exec|operate|adopt`: the least-privilege IAM policy of each use.

One role per use: the release role (CodeBuild's: release, deploy, rollback, wait, status, diff,
render, revisions, verify, env, build --push) never deregisters revisions; pruning and one-off
tasks get their own; `operate` is the on-call developer's role for the everyday commands (logs,
tasks, tasks stop, scale, restart): one role, because the same person reads the logs and then
scales or restarts, and it cannot register a revision, pass a role or deploy an image. Built from deployer.yaml, the rendered templates and the environment's
outputs, so every resource is named: one ECR repository, the task-definition families, the
services and their deployments, the roles passed to ECS, the log groups, the SSM parameters and
secrets the templates read, the stack. `*` only where AWS has no resource-level permission.

`--for adopt` (a one-off hand-over, run before any deployer.yaml exists) is built from its flags
(--cluster, --service, --stack or --proton) and the live account: the stack that owns the service
is looked up now and named.
"""

from __future__ import annotations

from ..manifest import strategies
from ..core.errors import BadInput
from ..manifest.render import render_service

USES = ("release", "prune", "run", "exec", "operate", "adopt")

ECR_PUSH = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]
# ECS Service Deployments: the watch reads them, a stuck one is stopped before rolling back.
SERVICE_DEPLOYMENTS = ["ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions", "ecs:StopServiceDeployment"]


class _Names:
    """ARNs of what one deployer.yaml touches."""

    def __init__(self, run):
        env = run.environment
        self.region, self.account = run.aws.region, run.aws.account_id()
        self.partition = _partition(self.region)
        self.cluster = env.cluster
        self.services = run.services(None)

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"

    def log_group(self, group: str, region: str | None = None) -> str:
        """A log group's ARN (its streams: `:*`), in the awslogs-region the container names, else this one."""
        region = region or self.region
        return f"arn:{_partition(region)}:logs:{region}:{self.account}:log-group:{group}:*"

    def ssm_parameter(self, name: str) -> str:
        return name if name.startswith("arn:") else self.arn("ssm", "parameter/" + name.lstrip("/"))

    def secret(self, name: str) -> str:
        # valueFrom may add :json-key:stage:id after the secret's ARN; a name gets AWS's random suffix.
        return ":".join(name.split(":")[:7]) if name.startswith("arn:") else self.arn("secretsmanager", f"secret:{name}-*")


def _partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def iam_policy(run, *, use: str = "release", adopt: dict | None = None) -> dict:
    if use not in USES:
        raise BadInput(f"--for {use!r}: one of {', '.join(USES)}")
    if use == "adopt":
        return _adopt(run, **(adopt or {}))
    given = [flag for flag, value in (adopt or {}).items() if value]
    if given:
        raise BadInput(f"--{given[0]}: only with --for adopt (the other uses read deployer.yaml)")
    names = _Names(run)
    rendered = [render_service(run.render_inputs(guardrails=False), svc, f"{run.environment.repository}:policy") for svc in names.services]
    statements = _environment_reads(run, names) + {"release": _release, "prune": _prune, "run": _run, "exec": _exec, "operate": _operate}[use](run, names, rendered)
    return {"Version": "2012-10-17", "Statement": [s for s in statements if s["Resource"]]}


def _environment_reads(run, names: _Names) -> list[dict]:
    env = run.environment
    statements = [{"Sid": "EnvironmentOutputs", "Effect": "Allow", "Action": ["cloudformation:DescribeStacks"], "Resource": names.arn("cloudformation", f"stack/{env.stack or env.name}/*")}]
    if env.source == "proton":
        # Asked first (it answers no more since Proton's end of support), then the stack it left is found by name.
        statements.append({"Sid": "ProtonEnvironment", "Effect": "Allow", "Action": ["proton:ListEnvironmentOutputs"], "Resource": names.arn("proton", f"environment/{env.name}")})
        statements.append({"Sid": "FindProtonStack", "Effect": "Allow", "Action": ["cloudformation:ListStacks"], "Resource": "*"})
    return statements


def _service_arns(names: _Names) -> list[str]:
    return [names.arn("ecs", f"service/{names.cluster}/{s.name}") for s in names.services]


def _roles_and_logs(names: _Names, rendered) -> tuple[list[str], list[str]]:
    roles = set()
    for r in rendered:
        td = r.task_definition
        roles |= {td[k] for k in ("executionRoleArn", "taskRoleArn") if td.get(k)}
    role_arns = sorted(role if role.startswith("arn:") else names.arn("iam", f"role/{role}", region=False) for role in roles)
    return role_arns, log_group_arns(names, rendered)


def log_group_arns(names: _Names, rendered) -> list[str]:
    """The log-group ARNs of these rendered definitions' containers: each awslogs-group in the container's
    awslogs-region (where the awslogs driver writes and deployer reads), else the session's region.
    The one source of the log statements of `--for release`, `--for run` and `--for operate`."""
    return sorted({names.log_group(options["awslogs-group"], options.get("awslogs-region"))
                   for r in rendered for c in r.task_definition["containerDefinitions"]
                   for log in [c.get("logConfiguration") or {}] if log.get("logDriver") == "awslogs"
                   for options in [log.get("options") or {}] if options.get("awslogs-group")})


def _pass_roles(role_arns: list[str]) -> dict:
    return {"Sid": "PassTaskRoles", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": role_arns, "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}


def _container_secrets(names: _Names, rendered) -> tuple[list[str], list[str]]:
    """SSM parameters and Secrets Manager secrets the containers' `secrets` (valueFrom) name."""
    parameters, secrets = set(), set()
    for r in rendered:
        for container in r.task_definition["containerDefinitions"]:
            for item in container.get("secrets") or []:
                ref = str(item.get("valueFrom", ""))
                if ":secretsmanager:" in ref:
                    secrets.add(names.secret(ref))
                else:
                    parameters.add(names.ssm_parameter(ref))
    return sorted(parameters), sorted(secrets)


def _decrypt_via_ssm(names: _Names) -> dict:
    # SecureStrings are decrypted by KMS on SSM's behalf; the key is the account's (aws/ssm or a customer key).
    return {"Sid": "DecryptSecureStrings", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": names.arn("kms", "key/*"), "Condition": {"StringEquals": {"kms:ViaService": f"ssm.{names.region}.amazonaws.com"}}}


def _release(run, names: _Names, rendered) -> list[dict]:
    env = run.environment
    repo_name = env.repository.split("/", 1)[1] if "/" in env.repository else env.repository
    family_arns = sorted({names.arn("ecs", f"task-definition/{s.family}:*") for s in names.services}
                         | {names.arn("ecs", f"task-definition/{family}:*") for family in _schedule_families(run)})
    service_arns = _service_arns(names)
    cluster_arn = names.arn("ecs", f"cluster/{names.cluster}")
    role_arns, log_groups = _roles_and_logs(names, rendered + _schedule_templates(run))
    template_parameters = sorted(names.ssm_parameter(name) for r in rendered for kind, name in r.reads if kind == "ssm")
    template_secrets = sorted(names.secret(name) for r in rendered for kind, name in r.reads if kind == "secretsmanager")
    container_parameters, container_secrets = _container_secrets(names, rendered)
    from ..image.registry import parse_repository

    repo_account = parse_repository(env.repository).account
    # A repository in another account (environments: the management account's) is pushed to with the
    # caller's own credentials, never the environment's role: its statements belong to the caller's role.
    ecr = [] if repo_account and repo_account != names.account else [
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
        {"Sid": "EcrPushOneRepository", "Effect": "Allow", "Action": ECR_PUSH, "Resource": names.arn("ecr", f"repository/{repo_name}")},
    ]
    statements = ecr + [
        # RegisterTaskDefinition and the task-definition reads have no resource-level permissions.
        {"Sid": "EcsTaskDefinitions", "Effect": "Allow", "Action": ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"], "Resource": "*"},
        # Tags on revisions: the commit at registration, `healthy` after a good rollout.
        {"Sid": "EcsTagRevisions", "Effect": "Allow", "Action": ["ecs:TagResource"], "Resource": family_arns},
        # TagResource/ListTagsForResource: the release records the deployment it started on the service (`deployer wait`).
        {"Sid": "EcsServices", "Effect": "Allow", "Action": ["ecs:DescribeServices", "ecs:UpdateService", "ecs:CreateService", "ecs:ListServiceDeployments", "ecs:TagResource", "ecs:ListTagsForResource"], "Resource": service_arns},
        {
            "Sid": "EcsServiceDeployments",
            "Effect": "Allow",
            "Action": ["ecs:DescribeServiceDeployments", "ecs:StopServiceDeployment", "ecs:DescribeServiceRevisions"],
            "Resource": [names.arn("ecs", f"service-deployment/{names.cluster}/{s.name}/*") for s in names.services]
            + [names.arn("ecs", f"service-revision/{names.cluster}/{s.name}/*") for s in names.services],
        },
        {"Sid": "EcsCluster", "Effect": "Allow", "Action": ["ecs:DescribeClusters"], "Resource": cluster_arn},
        {"Sid": "EcsTasksOfTheCluster", "Effect": "Allow", "Action": ["ecs:DescribeTasks"], "Resource": names.arn("ecs", f"task/{names.cluster}/*")},
        {"Sid": "EcsListTasks", "Effect": "Allow", "Action": ["ecs:ListTasks"], "Resource": "*", "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}}},
        _lease(names),
        {"Sid": "DeploymentAlarms", "Effect": "Allow", "Action": ["cloudwatch:DescribeAlarms"], "Resource": names.arn("cloudwatch", "alarm:*")},
        _pass_roles(role_arns),
        {"Sid": "ReadFailedTaskLogs", "Effect": "Allow", "Action": ["logs:GetLogEvents"], "Resource": log_groups},
        # `verify` and the pre-flight checks; Describe* calls of EC2, ELB and Logs have no resource-level permissions.
        {"Sid": "PreflightReads", "Effect": "Allow", "Action": ["elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "logs:DescribeLogGroups"], "Resource": "*"},
        {"Sid": "PreflightRoles", "Effect": "Allow", "Action": ["iam:GetRole"], "Resource": role_arns},
        # ssm() in templates (decrypted: a SecureString becomes a token, refused in definitions unless allowed) and verify's existence checks.
        {"Sid": "TemplateParameters", "Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": sorted(set(template_parameters + container_parameters))},
        {"Sid": "TemplateSecrets", "Effect": "Allow", "Action": ["secretsmanager:DescribeSecret"], "Resource": sorted(set(template_secrets + container_secrets))},
    ]
    statements += _guardrail_and_image_reads(run, names, repo_name)
    statements += _schedules(run, names)
    build_reads = _build_secret_reads(run, names)
    statements += build_reads
    if template_parameters or any(s["Sid"] in ("BuildSecretParameters", "DeployerPolicy") and s["Action"] == ["ssm:GetParameter"] for s in statements):
        statements.append(_decrypt_via_ssm(names))
    if any("serviceConnectConfiguration" in r.service_definition.update_params for r in rendered):
        # A namespace named in the definition, by ARN in ECS's answer: Cloud Map says if it is the same.
        statements.append({"Sid": "ServiceConnectNamespaceName", "Effect": "Allow", "Action": ["servicediscovery:GetNamespace"], "Resource": "*"})
    # Blue/green, linear, canary (deployer/manifest/strategies.py): what the statements above do not grant yet.
    return statements + _not_granted(statements, strategies.iam_statements(rendered, service_arns))


def _guardrail_and_image_reads(run, names: _Names, repo_name: str) -> list[dict]:
    """The admins' policy (stack output DeployerPolicy: an SSM parameter or an S3 object), the checks of a
    cross-account image (its repository's policy and images, read with this role: the caller's), and
    the environment's account (STS, which IAM never refuses; named so the policy says what is called)."""
    from ..image.repository_access import parse_repository
    from ..manifest.guardrails import parse_policy_reference

    statements = [{"Sid": "EnvironmentAccount", "Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"}]
    reference = run.environment.policy_reference
    if reference is not None:
        ref = parse_policy_reference(reference)
        if ref[0] == "ssm":
            statements.append({"Sid": "DeployerPolicy", "Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": names.ssm_parameter(ref[1])})
        elif ref[0] == "s3":
            statements.append({"Sid": "DeployerPolicy", "Effect": "Allow", "Action": ["s3:GetObject"],
                               "Resource": f"arn:{names.partition}:s3:::{ref[1]}/{ref[2]}"})
    try:
        repository_arn = parse_repository(run.environment.repository).arn
    except BadInput:
        repository_arn = names.arn("ecr", f"repository/{repo_name}")
    statements.append({"Sid": "ImageRepositoryAccess", "Effect": "Allow", "Action": ["ecr:GetRepositoryPolicy", "ecr:DescribeImages"], "Resource": repository_arn})
    return statements


def _schedule_families(run) -> list[str]:
    """The families of the schedules with their own template (`<service family>-<name>`)."""
    families = {s.name: s.family for s in run.config.services}
    return [f"{families[s.service]}-{s.key}" for s in run.config.schedules if s.task_definition is not None]


def _schedule_templates(run) -> list:
    """The schedules' own task definitions, rendered (their roles are passed, their log groups read)."""
    from types import SimpleNamespace

    from ..release.schedules import render_own

    return [SimpleNamespace(task_definition=render_own(run, s, f"{run.environment.repository}:policy"))
            for s in run.config.schedules if s.task_definition is not None]


def _schedules(run, names: _Names) -> list[dict]:
    """The app's EventBridge Scheduler schedules (`<app>-*` in the default group): every release lists
    them (one removed from deployer.yaml is deleted); with `schedules:`, the scheduler role is passed."""
    app = run.config.app
    statements = [
        # ListSchedules has no resource-level permission.
        {"Sid": "ListSchedules", "Effect": "Allow", "Action": ["scheduler:ListSchedules"], "Resource": "*"},
        {"Sid": "AppSchedules", "Effect": "Allow", "Action": ["scheduler:GetSchedule", "scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"],
         "Resource": names.arn("scheduler", f"schedule/default/{app}-*")},
    ]
    role = run.environment.scheduler_role if run.config.schedules else None
    if role:
        statements.append({"Sid": "PassSchedulerRole", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": role,
                           "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}})
        statements.append({"Sid": "VerifySchedulerRole", "Effect": "Allow", "Action": ["iam:GetRole"], "Resource": role})
    return statements


def _build_secret_reads(run, names: _Names) -> list[dict]:
    """`image.secrets` read from SSM or Secrets Manager at build time (--secret flags are the caller's own)."""
    from ..image.secrets import from_config

    sources = from_config(run.config.image.secrets, str(run.config.path))
    parameters = sorted({names.ssm_parameter(s.ref) for s in sources if s.kind == "ssm"})
    secrets = sorted({names.secret(s.ref) for s in sources if s.kind == "secretsmanager"})
    statements = []
    if parameters:
        statements.append({"Sid": "BuildSecretParameters", "Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": parameters})
    if secrets:
        statements.append({"Sid": "BuildSecretsManager", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secrets})
    return statements


def _not_granted(granted: list[dict], added: list[dict]) -> list[dict]:
    """`added` without the actions `granted` already allows on all the same resources (unconditionally)."""
    have = {(action, resource) for s in granted if "Condition" not in s
            for action in _as_list(s["Action"]) for resource in _as_list(s["Resource"])}
    out = []
    for statement in added:
        resources = _as_list(statement["Resource"])
        actions = [a for a in _as_list(statement["Action"]) if "Condition" in statement or not all((a, r) in have for r in resources)]
        if actions:
            out.append({**statement, "Action": actions})
    return out


def _as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value)


def _lease(names: _Names) -> dict:
    """The one-at-a-time lease: SSM parameters under each service's own lease path only."""
    from ..release.lease import LEASE_ACTIONS, policy_resources

    return {"Sid": "ReleaseLease", "Effect": "Allow", "Action": LEASE_ACTIONS, "Resource": policy_resources(names.partition, names.region, names.account, names.cluster, [s.name for s in names.services])}


def _prune(run, names: _Names, rendered) -> list[dict]:
    return [
        # Which revisions exist, and which are running, last healthy or used by a deployment: those stay.
        {"Sid": "EcsTaskDefinitions", "Effect": "Allow", "Action": ["ecs:ListTaskDefinitions", "ecs:DescribeTaskDefinition"], "Resource": "*"},
        {"Sid": "EcsServices", "Effect": "Allow", "Action": ["ecs:DescribeServices", "ecs:ListServiceDeployments"], "Resource": _service_arns(names)},
        # Never a revision any service of the cluster runs or deploys: every service is looked at.
        {"Sid": "PruneSeesClusterServices", "Effect": "Allow", "Action": ["ecs:ListServices", "ecs:DescribeServices"], "Resource": "*", "Condition": {"ArnEquals": {"ecs:cluster": names.arn("ecs", f"cluster/{names.cluster}")}}},
        _lease(names),
        # Never a revision an EventBridge rule or a Scheduler schedule of the account runs (anyone's): each is read.
        {"Sid": "PruneSeesEventBridgeRules", "Effect": "Allow", "Action": ["events:ListEventBuses", "events:ListRules"], "Resource": "*"},
        {"Sid": "PruneSeesRuleTargets", "Effect": "Allow", "Action": ["events:ListTargetsByRule"], "Resource": names.arn("events", "rule/*")},
        {"Sid": "PruneSeesSchedules", "Effect": "Allow", "Action": ["scheduler:ListSchedules"], "Resource": "*"},
        {"Sid": "PruneReadsSchedules", "Effect": "Allow", "Action": ["scheduler:GetSchedule"], "Resource": names.arn("scheduler", "schedule/*")},
        # DeregisterTaskDefinition has no resource-level permission: only this role has it.
        {"Sid": "DeregisterRevisions", "Effect": "Allow", "Action": ["ecs:DeregisterTaskDefinition"], "Resource": "*"},
    ]


def _run(run, names: _Names, rendered) -> list[dict]:
    cluster_arn = names.arn("ecs", f"cluster/{names.cluster}")
    family_arns = sorted({names.arn("ecs", f"task-definition/{s.family}:*") for s in names.services})
    role_arns, log_groups = _roles_and_logs(names, rendered)
    parameters, secrets = _container_secrets(names, rendered)
    statements = [
        {"Sid": "EcsServices", "Effect": "Allow", "Action": ["ecs:DescribeServices"], "Resource": _service_arns(names)},
        {"Sid": "EcsTaskDefinitions", "Effect": "Allow", "Action": ["ecs:DescribeTaskDefinition"], "Resource": "*"},
        {"Sid": "RunOneOffTasks", "Effect": "Allow", "Action": ["ecs:RunTask"], "Resource": family_arns, "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}}},
        {"Sid": "WatchAndStopThem", "Effect": "Allow", "Action": ["ecs:DescribeTasks", "ecs:StopTask"], "Resource": names.arn("ecs", f"task/{names.cluster}/*")},
        _pass_roles(role_arns),
        {"Sid": "ReadTaskLogs", "Effect": "Allow", "Action": ["logs:GetLogEvents"], "Resource": log_groups},
        # The task's own secrets are read only to mask them in the log lines deployer prints.
        {"Sid": "MaskTaskSecrets", "Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": parameters},
        {"Sid": "MaskTaskSecretsManager", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secrets},
    ]
    if parameters:
        statements.append(_decrypt_via_ssm(names))
    return statements


def _exec(run, names: _Names, rendered) -> list[dict]:
    """The caller of `deployer exec` and `port-forward` (a developer's role): find a running task of the
    service, open ECS Exec in it (ExecuteCommand) or a port-forwarding session to it (StartSession with
    AWS's two port-forwarding documents), and end or resume the session the plugin holds."""
    cluster_arn = names.arn("ecs", f"cluster/{names.cluster}")
    tasks = names.arn("ecs", f"task/{names.cluster}/*")
    documents = [names.arn("ssm", f"document/{d}", account=False) for d in ("AWS-StartPortForwardingSession", "AWS-StartPortForwardingSessionToRemoteHost")]
    return [
        {"Sid": "EcsServices", "Effect": "Allow", "Action": ["ecs:DescribeServices"], "Resource": _service_arns(names)},
        {"Sid": "FindTasks", "Effect": "Allow", "Action": ["ecs:ListTasks"], "Resource": "*", "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}}},
        {"Sid": "DescribeTasks", "Effect": "Allow", "Action": ["ecs:DescribeTasks"], "Resource": tasks},
        {"Sid": "EcsExec", "Effect": "Allow", "Action": ["ecs:ExecuteCommand"], "Resource": [cluster_arn, tasks]},
        {"Sid": "PortForwarding", "Effect": "Allow", "Action": ["ssm:StartSession"], "Resource": [tasks, *documents]},
        {"Sid": "OwnSessions", "Effect": "Allow", "Action": ["ssm:TerminateSession", "ssm:ResumeSession"],
         "Resource": names.arn("ssm", "session/${aws:userid}-*")},
    ]



def _operate(run, names: _Names, rendered) -> list[dict]:
    """The on-call developer's role (docs/operations.md): `logs` and `tasks` read; `tasks stop` stops a
    task of the cluster; `scale` and `restart` update the app's services (under the release lease) and
    watch them to steady; `scale --min/--max` changes the range of the services' Application Auto
    Scaling targets, named as they are now. Never a registration, a role passed, or a deregistration."""
    cluster_arn = names.arn("ecs", f"cluster/{names.cluster}")
    tasks = names.arn("ecs", f"task/{names.cluster}/*")
    service_arns = _service_arns(names)
    family_arns = sorted({names.arn("ecs", f"task-definition/{s.family}:*") for s in names.services})
    parameters, secrets = _container_secrets(names, rendered)
    log_groups = log_group_arns(names, rendered)
    statements = [
        {"Sid": "EcsServices", "Effect": "Allow", "Action": ["ecs:DescribeServices"], "Resource": service_arns},
        # The revision a task runs: its containers' log streams and secrets. No resource-level permission.
        {"Sid": "EcsTaskDefinitions", "Effect": "Allow", "Action": ["ecs:DescribeTaskDefinition"], "Resource": "*"},
        {"Sid": "FindTasks", "Effect": "Allow", "Action": ["ecs:ListTasks"], "Resource": "*", "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}}},
        {"Sid": "DescribeTasks", "Effect": "Allow", "Action": ["ecs:DescribeTasks"], "Resource": tasks},
        # `deployer logs`: one FilterLogEvents per log group the containers' awslogs driver writes to.
        {"Sid": "ReadLogs", "Effect": "Allow", "Action": ["logs:FilterLogEvents"], "Resource": log_groups},
        # The containers' own secrets are read only to mask them in the log lines deployer prints.
        {"Sid": "MaskTaskSecrets", "Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": parameters},
        {"Sid": "MaskTaskSecretsManager", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secrets},
        # Whether Application Auto Scaling owns the desired count. No resource-level permission.
        {"Sid": "ReadAutoscaling", "Effect": "Allow", "Action": ["application-autoscaling:DescribeScalableTargets"], "Resource": "*"},
        # `deployer tasks stop ID`.
        {"Sid": "StopTasks", "Effect": "Allow", "Action": ["ecs:StopTask"], "Resource": tasks},
        # `scale` (desiredCount) and `restart` (forceNewDeployment). IAM cannot limit UpdateService to those
        # two fields: this role could also point a service at another registered revision, never register one.
        {"Sid": "ScaleAndRestart", "Effect": "Allow", "Action": ["ecs:UpdateService"], "Resource": service_arns},
        # The watch of the new deployment: the deployment restart started is recorded on the service
        # (`deployer wait`), the revision tagged healthy when it is steady (`deployer rollback` goes back to it).
        {"Sid": "RecordDeployments", "Effect": "Allow", "Action": ["ecs:TagResource"], "Resource": service_arns + family_arns},
        {"Sid": "WatchDeployments", "Effect": "Allow", "Action": ["ecs:ListServiceDeployments"], "Resource": service_arns},
        {"Sid": "WatchServiceDeployments", "Effect": "Allow", "Action": ["ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions"],
         "Resource": [names.arn("ecs", f"service-deployment/{names.cluster}/{s.name}/*") for s in names.services]
         + [names.arn("ecs", f"service-revision/{names.cluster}/{s.name}/*") for s in names.services]},
        # scale and restart take the release lease: never while a release of the service runs.
        _lease(names),
    ]
    if parameters:
        statements.append(_decrypt_via_ssm(names))
    targets = _scalable_targets(run, names)
    if targets:
        statements.append({"Sid": "AutoscalingRange", "Effect": "Allow", "Action": ["application-autoscaling:RegisterScalableTarget"], "Resource": targets})
    return statements


def _scalable_targets(run, names: _Names) -> list[str]:
    """The ARNs of the services' Application Auto Scaling targets as they are now (`scale --min/--max`
    updates an existing one; a target registered or re-created later needs the policy printed again)."""
    from ..aws import resources

    found, missing = [], []
    for svc in names.services:
        try:
            targets = resources.scalable_targets(run.aws, names.cluster, svc.name)
        except Exception as exc:  # noqa: BLE001 - the policy is printed without the range, and says why
            run.console.warn(f"{svc.name}: could not read its Application Auto Scaling target ({run.console.quote(exc)}): "
                             "the policy does not grant `scale --min/--max` on it")
            continue
        arns = [t.get("ScalableTargetARN") for t in targets if t.get("ScalableTargetARN")]
        found += arns
        if not arns:
            missing.append(svc.name)
    if missing:
        run.console.warn(f"{', '.join(missing)}: no Application Auto Scaling target now: the policy does not grant `scale --min/--max` "
                         "on it (print the policy again once the admins register one)")
    return sorted(set(found))

def _adopt(run, *, cluster: str | None = None, service: str | None = None, stack: str | None = None, proton: str | None = None) -> dict:
    """What `deployer adopt --cluster C --service S --stack E|--proton E` calls (commands/adopt.py, then init
    and its diff): reads of the service and its revision, of the environment's outputs, of the stacks
    (to find the owner); writes only to the stack that owns the service (found now, by its tag or by a
    scan): UpdateStack (Retain, then without the service) or DeleteStack."""
    from ..aws.cloudformation import find_proton_stack
    from ..onboard import ownership
    from ..onboard import importing

    missing = [flag for flag, value in (("--cluster", cluster), ("--service", service)) if not value]
    if missing or bool(stack) == bool(proton):
        raise BadInput("iam-policy --for adopt: pass --cluster, --service and exactly one of --stack or --proton, as for `deployer adopt`"
                       + (f" (missing {missing[0]})" if missing else ""))
    aws, _ = importing._adapters(run)
    region, account = aws.region, aws.account_id()
    partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"

    def arn(svc: str, resource: str) -> str:
        return f"arn:{partition}:{svc}:{region}:{account}:{resource}"

    cluster_name = cluster.rsplit("/", 1)[-1]
    environment_stack = stack or find_proton_stack(aws, proton)
    live = ownership.describe_with_tags(aws, cluster, service)
    if live is None:
        raise BadInput(f"iam-policy --for adopt: service `{service}` not found (or INACTIVE) in cluster `{cluster}`")
    owner = ownership.find_owner(aws, live)
    statements = [
        {"Sid": "EnvironmentOutputs", "Effect": "Allow", "Action": ["cloudformation:DescribeStacks"], "Resource": arn("cloudformation", f"stack/{environment_stack}/*")},
    ]
    if proton:
        statements.append({"Sid": "ProtonEnvironment", "Effect": "Allow", "Action": ["proton:ListEnvironmentOutputs"], "Resource": arn("proton", f"environment/{proton}")})
    statements += [
        # Which stack owns the service: the one its aws:cloudformation:stack-name tag names, else a scan of the stacks' resources.
        {"Sid": "FindOwningStack", "Effect": "Allow", "Action": ["cloudformation:ListStacks", "cloudformation:ListStackResources"], "Resource": "*"},
        {"Sid": "EcsService", "Effect": "Allow", "Action": ["ecs:DescribeServices"], "Resource": arn("ecs", f"service/{cluster_name}/{service}")},
        # DescribeTaskDefinition and DescribeScalableTargets have no resource-level permissions.
        {"Sid": "EcsRevision", "Effect": "Allow", "Action": ["ecs:DescribeTaskDefinition"], "Resource": "*"},
        {"Sid": "Autoscaling", "Effect": "Allow", "Action": ["application-autoscaling:DescribeScalableTargets"], "Resource": "*"},
        # The check after writing the files is `deployer diff`, which lists the app's schedules (none yet).
        {"Sid": "AppSchedules", "Effect": "Allow", "Action": ["scheduler:ListSchedules"], "Resource": "*"},
    ]
    if owner is not None:
        # The hand-over: the owning stack only (never the environment's: adopt refuses that).
        statements.append({"Sid": "HandOverFromOwningStack", "Effect": "Allow",
                           "Action": ["cloudformation:DeleteStack", "cloudformation:DescribeStacks", "cloudformation:GetTemplate", "cloudformation:UpdateStack"],
                           "Resource": arn("cloudformation", f"stack/{owner.stack}/*")})
    else:
        run.console.warn(f"no CloudFormation stack owns {service} now: the policy has no stack writes (adopt only runs init)")
    return {"Version": "2012-10-17", "Statement": statements}


def text(run, result: dict) -> str:
    import json

    return json.dumps(result, indent=2)
