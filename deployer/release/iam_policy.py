"""The least-privilege IAM policy of each use of deployer (`deployer iam-policy --for release|prune|run|exec|operate`),
built from plain values: no AWS call, no `run`.

One role per use: the release role (CodeBuild's: release, deploy, rollback, wait, status, diff,
render, revisions, verify, env, build --push) never deregisters revisions; pruning and one-off
tasks get their own; `operate` is the on-call developer's role for the everyday commands (logs,
tasks, tasks stop, scale, restart): one role, because the same person reads the logs and then
scales or restarts, and it cannot register a revision, pass a role or deploy an image. Every
resource is named from the inputs (commands/iam_policy.py gathers them from deployer.yaml, the
rendered templates and the environment's outputs): one ECR repository, the task-definition families,
the services and their deployments, the roles passed to ECS, the log groups, the SSM parameters and
secrets the templates read, the stack. `*` only where AWS has no resource-level permission.

`--for adopt` is onboard/adopt_policy.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..aws.session import partition_of
from ..core.errors import BadInput
from ..manifest import strategies

USES = ("release", "prune", "run", "exec", "operate")

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


@dataclass(frozen=True)
class Service:
    """One service of deployer.yaml: its name (in the cluster) and its task-definition family."""

    name: str
    family: str


@dataclass(frozen=True)
class Schedule:
    """One `schedules:` entry: its family when it has its own template (`<service family>-<name>`), else None;
    that template rendered (the RegisterTaskDefinition input) when the use needs it (`--for release`)."""

    name: str
    family: str | None = None
    task_definition: dict | None = None


@dataclass(frozen=True)
class PolicyInputs:
    """Everything a policy names, as plain values (commands/iam_policy.py reads them from `run`)."""

    account: str
    region: str
    cluster: str  # the environment's cluster name
    services: tuple[Service, ...]
    repository: str  # the environment's image repository (a URI; environments: maybe another account's)
    stack: str  # the environment's CloudFormation stack (its outputs are read)
    proton_environment: str | None = None  # the Proton environment whose stack is found by name (environment source `proton`)
    # The services' rendered definitions (manifest/render.py Rendered: task_definition, service_definition, reads):
    # the roles passed, the log groups, the containers' secrets, what the templates read, the strategies.
    rendered: tuple = ()
    app: str = ""  # deployer.yaml's app: its schedules are `<app>-*`
    schedules: tuple[Schedule, ...] = ()
    scheduler_role: str | None = None  # the environment's role EventBridge Scheduler assumes
    policy_reference: str | None = None  # the admins' DeployerPolicy output, as given (ssm:/..., s3://..., inline)
    build_secrets: tuple[tuple[str, str], ...] = ()  # deployer.yaml's image.secrets: (id, "ssm:NAME" | "secretsmanager:NAME" | ...)
    config_path: str = "deployer.yaml"  # where build secrets are named, for messages
    scalable_targets: tuple[str, ...] = ()  # the services' Application Auto Scaling target ARNs as they are now (operate)
    partition: str = field(default="")  # default: the region's

    def __post_init__(self):
        if not self.partition:
            object.__setattr__(self, "partition", partition_of(self.region))

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"

    def ssm_parameter(self, name: str) -> str:
        return name if name.startswith("arn:") else self.arn("ssm", "parameter/" + name.lstrip("/"))

    def secret(self, name: str) -> str:
        # valueFrom may add :json-key:stage:id after the secret's ARN; a name gets AWS's random suffix.
        return ":".join(name.split(":")[:7]) if name.startswith("arn:") else self.arn("secretsmanager", f"secret:{name}-*")


def iam_policy(inputs: PolicyInputs, use: str = "release") -> dict:
    """The policy document of one use, from plain inputs."""
    if use not in USES:
        raise BadInput(f"--for {use!r}: one of {', '.join(USES)}")
    statements = _environment_reads(inputs) + {"release": _release, "prune": _prune, "run": _run, "exec": _exec, "operate": _operate}[use](inputs)
    return {"Version": "2012-10-17", "Statement": [s for s in statements if s["Resource"]]}


def log_group_arns(task_definitions, *, account: str, region: str) -> list[str]:
    """The log-group ARNs (their streams: `:*`) of these task definitions' containers: each awslogs-group in the
    container's awslogs-region (where the awslogs driver writes and deployer reads), else `region`.
    The one source of the log statements of `--for release`, `--for run` and `--for operate`."""
    return sorted({_log_group(options["awslogs-group"], options.get("awslogs-region") or region, account)
                   for td in task_definitions for c in td["containerDefinitions"]
                   for log in [c.get("logConfiguration") or {}] if log.get("logDriver") == "awslogs"
                   for options in [log.get("options") or {}] if options.get("awslogs-group")})


def _log_group(group: str, region: str, account: str) -> str:
    return f"arn:{partition_of(region)}:logs:{region}:{account}:log-group:{group}:*"


def _environment_reads(names: PolicyInputs) -> list[dict]:
    statements = [{"Sid": "EnvironmentOutputs", "Effect": "Allow", "Action": ["cloudformation:DescribeStacks"], "Resource": names.arn("cloudformation", f"stack/{names.stack}/*")}]
    if names.proton_environment is not None:
        # The stack Proton left is found by name (the Proton API is not asked: it is gone).
        statements.append({"Sid": "FindProtonStack", "Effect": "Allow", "Action": ["cloudformation:ListStacks"], "Resource": "*"})
    return statements


def _service_arns(names: PolicyInputs) -> list[str]:
    return [names.arn("ecs", f"service/{names.cluster}/{s.name}") for s in names.services]


def _roles_and_logs(names: PolicyInputs, task_definitions: list[dict]) -> tuple[list[str], list[str]]:
    roles = set()
    for td in task_definitions:
        roles |= {td[k] for k in ("executionRoleArn", "taskRoleArn") if td.get(k)}
    role_arns = sorted(role if role.startswith("arn:") else names.arn("iam", f"role/{role}", region=False) for role in roles)
    return role_arns, log_group_arns(task_definitions, account=names.account, region=names.region)


def _task_definitions(names: PolicyInputs) -> list[dict]:
    return [r.task_definition for r in names.rendered]


def _pass_roles(role_arns: list[str]) -> dict:
    return {"Sid": "PassTaskRoles", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": role_arns, "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}


def _container_secrets(names: PolicyInputs) -> tuple[list[str], list[str]]:
    """SSM parameters and Secrets Manager secrets the containers' `secrets` (valueFrom) name."""
    parameters, secrets = set(), set()
    for td in _task_definitions(names):
        for container in td["containerDefinitions"]:
            for item in container.get("secrets") or []:
                ref = str(item.get("valueFrom", ""))
                if ":secretsmanager:" in ref:
                    secrets.add(names.secret(ref))
                else:
                    parameters.add(names.ssm_parameter(ref))
    return sorted(parameters), sorted(secrets)


def _decrypt_via_ssm(names: PolicyInputs) -> dict:
    # SecureStrings are decrypted by KMS on SSM's behalf; the key is the account's (aws/ssm or a customer key).
    return {"Sid": "DecryptSecureStrings", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": names.arn("kms", "key/*"), "Condition": {"StringEquals": {"kms:ViaService": f"ssm.{names.region}.amazonaws.com"}}}


def _release(names: PolicyInputs) -> list[dict]:
    from ..image.registry import parse_repository

    rendered = list(names.rendered)
    repository = names.repository
    repo_name = repository.split("/", 1)[1] if "/" in repository else repository
    family_arns = sorted({names.arn("ecs", f"task-definition/{s.family}:*") for s in names.services}
                         | {names.arn("ecs", f"task-definition/{s.family}:*") for s in names.schedules if s.family is not None})
    service_arns = _service_arns(names)
    cluster_arn = names.arn("ecs", f"cluster/{names.cluster}")
    schedule_templates = [s.task_definition for s in names.schedules if s.task_definition is not None]
    role_arns, log_groups = _roles_and_logs(names, _task_definitions(names) + schedule_templates)
    template_parameters = sorted(names.ssm_parameter(name) for r in rendered for kind, name in r.reads if kind == "ssm")
    template_secrets = sorted(names.secret(name) for r in rendered for kind, name in r.reads if kind == "secretsmanager")
    container_parameters, container_secrets = _container_secrets(names)

    repo_account = parse_repository(repository).account
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
    statements += _guardrail_and_image_reads(names, repo_name)
    statements += _schedules(names)
    statements += _build_secret_reads(names)
    if template_parameters or any(s["Sid"] in ("BuildSecretParameters", "DeployerPolicy") and s["Action"] == ["ssm:GetParameter"] for s in statements):
        statements.append(_decrypt_via_ssm(names))
    if any("serviceConnectConfiguration" in r.service_definition.update_params for r in rendered):
        # A namespace named in the definition, by ARN in ECS's answer: Cloud Map says if it is the same.
        statements.append({"Sid": "ServiceConnectNamespaceName", "Effect": "Allow", "Action": ["servicediscovery:GetNamespace"], "Resource": "*"})
    # Blue/green, linear, canary (deployer/manifest/strategies.py): what the statements above do not grant yet.
    return statements + _not_granted(statements, strategies.iam_statements(rendered, service_arns))


def _guardrail_and_image_reads(names: PolicyInputs, repo_name: str) -> list[dict]:
    """The admins' policy (stack output DeployerPolicy: an SSM parameter or an S3 object), the checks of a
    cross-account image (its repository's policy and images, read with this role: the caller's), and
    the environment's account (STS, which IAM never refuses; named so the policy says what is called)."""
    from ..image.repository_access import parse_repository
    from ..manifest.guardrails import parse_policy_reference

    statements = [{"Sid": "EnvironmentAccount", "Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"}]
    reference = names.policy_reference
    if reference is not None:
        ref = parse_policy_reference(reference)
        if ref[0] == "ssm":
            statements.append({"Sid": "DeployerPolicy", "Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": names.ssm_parameter(ref[1])})
        elif ref[0] == "s3":
            statements.append({"Sid": "DeployerPolicy", "Effect": "Allow", "Action": ["s3:GetObject"],
                               "Resource": f"arn:{names.partition}:s3:::{ref[1]}/{ref[2]}"})
    try:
        repository_arn = parse_repository(names.repository).arn
    except BadInput:
        repository_arn = names.arn("ecr", f"repository/{repo_name}")
    statements.append({"Sid": "ImageRepositoryAccess", "Effect": "Allow", "Action": ["ecr:GetRepositoryPolicy", "ecr:DescribeImages"], "Resource": repository_arn})
    return statements


def _schedules(names: PolicyInputs) -> list[dict]:
    """The app's EventBridge Scheduler schedules (`<app>-*` in the default group): every release lists
    them (one removed from deployer.yaml is deleted); with `schedules:`, the scheduler role is passed."""
    statements = [
        # ListSchedules has no resource-level permission.
        {"Sid": "ListSchedules", "Effect": "Allow", "Action": ["scheduler:ListSchedules"], "Resource": "*"},
        {"Sid": "AppSchedules", "Effect": "Allow", "Action": ["scheduler:GetSchedule", "scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"],
         "Resource": names.arn("scheduler", f"schedule/default/{names.app}-*")},
    ]
    role = names.scheduler_role if names.schedules else None
    if role:
        statements.append({"Sid": "PassSchedulerRole", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": role,
                           "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}})
        statements.append({"Sid": "VerifySchedulerRole", "Effect": "Allow", "Action": ["iam:GetRole"], "Resource": role})
    return statements


def _build_secret_reads(names: PolicyInputs) -> list[dict]:
    """`image.secrets` read from SSM or Secrets Manager at build time (--secret flags are the caller's own)."""
    from ..image.secrets import from_config

    sources = from_config(dict(names.build_secrets), names.config_path)
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


def _lease(names: PolicyInputs) -> dict:
    """The one-at-a-time lease: SSM parameters under each service's own lease path only."""
    from .lease import LEASE_ACTIONS, policy_resources

    return {"Sid": "ReleaseLease", "Effect": "Allow", "Action": LEASE_ACTIONS, "Resource": policy_resources(names.partition, names.region, names.account, names.cluster, [s.name for s in names.services])}


def _prune(names: PolicyInputs) -> list[dict]:
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


def _run(names: PolicyInputs) -> list[dict]:
    cluster_arn = names.arn("ecs", f"cluster/{names.cluster}")
    family_arns = sorted({names.arn("ecs", f"task-definition/{s.family}:*") for s in names.services})
    role_arns, log_groups = _roles_and_logs(names, _task_definitions(names))
    parameters, secrets = _container_secrets(names)
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


def _exec(names: PolicyInputs) -> list[dict]:
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


def _operate(names: PolicyInputs) -> list[dict]:
    """The on-call developer's role (docs/operations.md): `logs` and `tasks` read; `tasks stop` stops a
    task of the cluster; `scale` and `restart` update the app's services (under the release lease) and
    watch them to steady; `scale --min/--max` changes the range of the services' Application Auto
    Scaling targets, named as they are now (inputs.scalable_targets). Never a registration, a role
    passed, or a deregistration."""
    cluster_arn = names.arn("ecs", f"cluster/{names.cluster}")
    tasks = names.arn("ecs", f"task/{names.cluster}/*")
    service_arns = _service_arns(names)
    family_arns = sorted({names.arn("ecs", f"task-definition/{s.family}:*") for s in names.services})
    parameters, secrets = _container_secrets(names)
    log_groups = log_group_arns(_task_definitions(names), account=names.account, region=names.region)
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
    targets = sorted(set(names.scalable_targets))
    if targets:
        statements.append({"Sid": "AutoscalingRange", "Effect": "Allow", "Action": ["application-autoscaling:RegisterScalableTarget"], "Resource": targets})
    return statements
