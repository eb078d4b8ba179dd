"""Pre-flight checks, each pass/fail/warn with its reason. All reads, no writes.

`release` and `deploy` run the cheap ones (cluster, target group, log group) before their first
write, so a broken environment fails as bad input with nothing changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..aws import resources as aws_resources
from ..aws.session import error_code
from ..core.errors import BadInput, DeployerError, ExternalError
from ..manifest.render import Rendered
from ..manifest.strategies import ECS_SERVICE, STRATEGIES, _policy_document, strategy_of

ECS_TASKS = "ecs-tasks.amazonaws.com"


@dataclass
class Check:
    name: str
    status: str  # pass | fail | warn
    reason: str

    @property
    def ok(self) -> bool:
        return self.status != "fail"


def attempt(name: str, fn) -> Check:
    """Run one check; an AWS error becomes a failed check that says what AWS said."""
    try:
        return fn()
    except DeployerError as exc:
        return Check(name, "fail", exc.message)
    except Exception as exc:  # noqa: BLE001 - a refused read is a finding, not a crash
        code = error_code(exc)
        return Check(name, "fail", f"{code}: {exc}" if code else str(exc))


def check_cluster(run) -> Check:
    cluster = run.environment.cluster
    found = aws_resources.clusters(run.aws, [cluster])
    status = found[0].get("status") if found else "MISSING"
    if status != "ACTIVE":
        return Check("cluster", "fail", f"cluster {cluster} is {status}")
    return Check("cluster", "pass", f"cluster {cluster} is ACTIVE")


def check_network(run, rendered: Rendered) -> list[Check]:
    vpc = rendered.service_definition.create_params.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
    checks = []
    subnets, groups = vpc.get("subnets", []), vpc.get("securityGroups", [])

    def subnets_exist():
        found = aws_resources.subnet_ids(run.aws, subnets)
        missing = [s for s in subnets if s not in found]
        return Check("subnets", "fail" if missing else "pass", f"missing: {', '.join(missing)}" if missing else f"{len(subnets)} subnets exist")

    def groups_exist():
        found = aws_resources.security_group_ids(run.aws, groups)
        missing = [g for g in groups if g not in found]
        return Check("security groups", "fail" if missing else "pass", f"missing: {', '.join(missing)}" if missing else f"{len(groups)} security groups exist")

    if subnets:
        checks.append(attempt("subnets", subnets_exist))
    if groups:
        checks.append(attempt("security groups", groups_exist))
    return checks


def check_target_groups(run, rendered: Rendered) -> list[Check]:
    checks = []
    td = rendered.task_definition
    for lb in rendered.service_definition.create_params.get("loadBalancers", []):
        arn = lb.get("targetGroupArn")
        if not arn:
            continue

        def one(arn=arn, lb=lb):
            groups = aws_resources.target_groups(run.aws, [arn])
            group = groups[0]
            problems = []
            if td.get("networkMode") == "awsvpc" and group.get("TargetType") != "ip":
                problems.append(f"target type is {group.get('TargetType')}, awsvpc tasks need `ip`")
            container = next((c for c in td["containerDefinitions"] if c["name"] == lb.get("containerName")), None)
            if container is None:
                problems.append(f"container {lb.get('containerName')} is not in the task definition")
            else:
                ports = [m.get("containerPort") for m in container.get("portMappings", [])]
                if lb.get("containerPort") not in ports:
                    problems.append(f"container {container['name']} does not map port {lb.get('containerPort')} (maps {ports})")
            if group.get("Port") != lb.get("containerPort"):
                problems.append(f"target group port {group.get('Port')} ≠ container port {lb.get('containerPort')}")
            name = group.get("TargetGroupName", arn)
            if problems:
                return Check("target group", "fail", f"{name}: " + "; ".join(problems))
            return Check("target group", "pass", f"{name}: type ip, port {group.get('Port')} = container port")

        checks.append(attempt("target group", one))
    return checks


def check_container(run, rendered: Rendered) -> Check:
    name = rendered.service.container
    names = [c["name"] for c in rendered.task_definition["containerDefinitions"]]
    return Check("container", "pass", f"container {name} is in the task definition ({', '.join(names)})")


def check_roles(run, rendered: Rendered) -> list[Check]:
    checks = []
    for key in ("executionRoleArn", "taskRoleArn"):
        ref = rendered.task_definition.get(key)
        if not ref:
            if key == "executionRoleArn" and _needs_execution_role(rendered.task_definition):
                checks.append(Check("execution role", "fail", "the task pulls from ECR or uses awslogs/secrets but has no executionRoleArn"))
            continue
        label = "execution role" if key == "executionRoleArn" else "task role"

        def one(ref=ref, label=label):
            role = aws_resources.role(run.aws, ref.rsplit("/", 1)[-1])
            document = role.get("AssumeRolePolicyDocument")
            if isinstance(document, str):
                from urllib.parse import unquote

                document = json.loads(unquote(document))
            if ECS_TASKS not in json.dumps(document):
                return Check(label, "fail", f"{role['RoleName']} does not trust {ECS_TASKS}")
            return Check(label, "pass", f"{role['RoleName']} exists and trusts {ECS_TASKS}")

        checks.append(attempt(label, one))
    return checks


def _needs_execution_role(td: dict) -> bool:
    for c in td.get("containerDefinitions", []):
        if ".dkr.ecr." in c.get("image", "") or c.get("secrets") or (c.get("logConfiguration") or {}).get("logDriver") == "awslogs":
            return True
    return False


def split_image(image: str) -> tuple[str, str]:
    """(repository, tag or sha256 digest) of an image reference; no tag means latest."""
    if "@sha256:" in image or ":" in image.rsplit("/", 1)[-1]:
        repo, _, ref = image.partition("@") if "@" in image else image.rpartition(":")
        return repo, ref
    return image, "latest"


def check_image(run, rendered: Rendered) -> Check:
    from ..image.build import existing_digest, source_tag

    image = rendered.image
    repo, ref = split_image(image)
    if repo != run.environment.repository:
        return Check("image", "warn", f"{image} is not in the environment's repository; not checked")
    if ref.startswith("sha256:"):
        return Check("image", "pass", f"pinned by digest {ref[:19]}…")
    try:
        tag = source_tag(run.config.root, None)
    except BadInput:
        tag = ref
    digest = existing_digest(run.image_aws, repo, tag)
    if digest:
        return Check("image", "pass", f"{repo}:{tag} exists ({digest[:19]}…)")
    return Check("image", "warn", f"{repo}:{tag} is not pushed yet (`deployer release` builds and pushes it)")


def ecr_reader(run, repo):
    """Whose credentials read an ECR repository: the environment's when the repository is in the
    environment's own account (a cross-account caller could not read it without a grant), else the
    repository side's (the caller, or image.role_arn)."""
    if run.image_aws is run.aws:
        return run.aws
    account = getattr(repo, "account", None)
    try:
        if account and account == run.aws.account_id():
            return run.aws
    except ExternalError:
        pass
    return run.image_aws


def check_image_exists(run, rendered: Rendered) -> list[Check]:
    """`deploy --image REF` of an ECR image: the tag or digest is in the repository (DescribeImages), or
    every task would stop with CannotPullContainerError. Not for `release`, which pushes it after the checks."""
    from ..image import registry

    image = rendered.image
    repo_uri, ref = split_image(image)
    repo = registry.parse_repository(repo_uri)
    if not repo.is_ecr:
        return []
    seen = run.__dict__.setdefault("_images_found", {})  # services sharing one image: one lookup
    if image not in seen:
        try:
            seen[image] = registry.ecr_of(ecr_reader(run, repo), repo).image_exists(ref)
        except ExternalError as exc:  # denied (another account's repository), unreachable: unknown, not missing
            seen[image] = exc
    found = seen[image]
    if isinstance(found, ExternalError):
        return [Check("image", "warn", f"could not check that {image} exists: {found.message}")]
    if found is True:
        return [Check("image", "pass", f"{image.rsplit('/', 1)[-1][:80]} exists in ECR")]
    what = f"repository {repo_uri} does not exist" if found is None else f"{'digest' if ref.startswith('sha256:') else 'tag'} {ref} is not in {repo_uri}"
    return [Check("image", "fail", f"{image}: {what} (ecr DescribeImages); its tasks would stop with CannotPullContainerError — "
                                   "push it first (`deployer release` builds and pushes)")]


def check_image_platform(run, rendered: Rendered) -> list[Check]:
    """The image's platform is the one the task definition runs (runtimePlatform; Fargate's default
    X86_64): otherwise every task stops at start-up with `exec format error`. Nothing to say about an
    image outside the environment's ECR repository, or not pushed yet (check_image says so)."""
    from ..image import registry
    from ..image.build import task_platform

    image = rendered.image
    repo_uri, ref = split_image(image)
    repo = registry.parse_repository(repo_uri)
    if repo_uri != run.environment.repository or not repo.is_ecr:
        return []

    def one():
        wanted = task_platform(rendered.task_definition) or "linux/amd64"
        seen = run.__dict__.setdefault("_image_platforms", {})  # services sharing one image: one lookup
        if image not in seen:
            try:
                seen[image] = registry.image_platforms(ecr_reader(run, repo), repo, ref, quick=True)  # a warning at most: one short attempt
            except ExternalError as exc:  # the registry did not answer: unknown, not wrong
                seen[image] = exc
        platforms = seen[image]
        if isinstance(platforms, ExternalError):
            return Check("image platform", "warn", f"could not read the platform of {image}: {platforms.message}")
        if platforms is None:
            return None
        if wanted in platforms:
            return Check("image platform", "pass", f"{image.rsplit('/', 1)[-1][:60]} is {', '.join(platforms)} as the task definition runs")
        return Check(
            "image platform", "fail",
            f"{image} is {', '.join(platforms) or 'of no platform'} but the task definition of {rendered.service.name} runs {wanted} "
            "(runtimePlatform): its tasks would stop with `exec format error`; rebuild for that platform (`deployer release`) "
            "or fix runtimePlatform",
        )

    found = attempt("image platform", one)
    return [found] if found is not None else []


def check_log_groups(run, rendered: Rendered) -> list[Check]:
    checks = []
    for container in rendered.task_definition["containerDefinitions"]:
        log = container.get("logConfiguration") or {}
        group = (log.get("options") or {}).get("awslogs-group")
        if log.get("logDriver") != "awslogs" or not group:
            continue

        def one(group=group, container=container, log=log):
            region = (log.get("options") or {}).get("awslogs-region")
            where = f" in {region}" if region and region != run.aws.region else ""
            found = aws_resources.log_group_names(run.aws, group, region=region)
            if group in found:
                return Check("log group", "pass", f"{group} exists{where}")
            create = (log.get("options") or {}).get("awslogs-create-group") == "true"
            return Check("log group", "warn" if create else "fail", f"{group} does not exist{where}" + (" (awslogs-create-group is set)" if create else f" (container {container['name']} logs there)"))

        checks.append(attempt("log group", one))
    return checks


def check_secrets(run, rendered: Rendered) -> list[Check]:
    checks = []
    for container in rendered.task_definition["containerDefinitions"]:
        for secret in container.get("secrets", []) or []:
            ref = secret.get("valueFrom", "")

            def one(ref=ref, name=secret.get("name"), container=container.get("name")):
                where = f"container {container} secret {name}"
                if ":secretsmanager:" in ref:
                    # arn:aws:secretsmanager:region:account:secret:name[:json-key:stage:id] → the secret's ARN
                    arn = ":".join(ref.split(":")[:7])
                    try:
                        aws_resources.secret_exists(run.aws, arn)
                    except Exception as exc:  # noqa: BLE001 - not found (or not readable) is the finding
                        return Check("secret", "fail", f"{where}: Secrets Manager secret {arn}: {_missing(exc)}")
                    return Check("secret", "pass", f"{name}: secret exists")
                parameter = ref.split(":parameter", 1)[-1] if ref.startswith("arn:") else ref
                try:
                    aws_resources.parameter_exists(run.aws, parameter)
                except Exception as exc:  # noqa: BLE001
                    return Check("secret", "fail", f"{where}: SSM parameter {parameter}: {_missing(exc)}")
                return Check("secret", "pass", f"{name}: SSM parameter {parameter} exists")

            checks.append(attempt("secret", one))
    return checks


def _missing(exc: Exception) -> str:
    code = error_code(exc)
    if code in ("ParameterNotFound", "ResourceNotFoundException"):
        return "does not exist (its tasks would stop with ResourceInitializationError)"
    return f"{code}: {exc}" if code else str(exc)


def check_alarms(run, rendered: Rendered) -> list[Check]:
    """Deployment alarms must exist; one already in ALARM is ignored by ECS when a deployment starts."""
    alarms = (rendered.service_definition.create_params.get("deploymentConfiguration") or {}).get("alarms") or {}
    names = list(alarms.get("alarmNames") or []) if alarms.get("enable", True) else []
    if not names:
        return []

    def one():
        found = {a["AlarmName"]: a for a in aws_resources.metric_alarms(run.aws, names)}
        missing = [n for n in names if n not in found]
        if missing:
            return Check("alarms", "fail", f"no CloudWatch alarm {', '.join(missing)} (deploymentConfiguration.alarms.alarmNames)")
        red = [n for n in names if found[n].get("StateValue") == "ALARM"]
        if red:
            return Check("alarms", "warn", f"{', '.join(red)} is in ALARM: ECS ignores an alarm already in ALARM when a deployment starts, so it would not catch this release")
        return Check("alarms", "pass", f"{', '.join(names)} exist, none in ALARM")

    return [attempt("alarms", one)]


def release_image(run) -> str:
    """The image `release` would deploy: the repository at the commit's tag."""
    from ..image.build import source_tag

    try:
        return f"{run.environment.repository}:{source_tag(run.config.root, None)}"
    except BadInput:
        return f"{run.environment.repository}:latest"


def preflight(run, rendered_list: list[Rendered], *, images: bool = False) -> list[Check]:
    """The cheap checks `release` and `deploy` run before their first write; images: the image must be in
    ECR already (`deploy --image`; `release` pushes it after these checks)."""
    checks = [attempt("cluster", lambda: check_cluster(run))]
    for rendered in rendered_list:
        checks += check_target_groups(run, rendered)
        checks += check_log_groups(run, rendered)
        checks += check_secrets(run, rendered)
        if images:
            checks += check_image_exists(run, rendered)
        checks += check_image_platform(run, rendered)
    return checks


def require(run, rendered_list: list[Rendered], *, images: bool = False) -> None:
    """Failures stop the release before any write (exit 2); warnings are said and the release goes on."""
    found = preflight(run, rendered_list, images=images)
    for check in found:
        if check.status == "warn":
            run.console.warn(f"pre-flight {check.name}: {check.reason}")
    failed = [c for c in found if not c.ok]
    if failed:
        raise BadInput("pre-flight check failed: " + "; ".join(f"{c.name}: {c.reason}" for c in failed), hint="`deployer verify` runs every check")


def check_traffic(run, rendered) -> list:
    """Blue/green, linear, canary: both target groups and the listener rules exist and belong
    together, ECS's role exists; each Lambda hook exists and its role may invoke it."""

    config = rendered.service_definition.update_params.get("deploymentConfiguration") or {}
    strategy = strategy_of(config)
    if strategy not in STRATEGIES:
        return []
    checks = []
    for lb in rendered.service_definition.create_params.get("loadBalancers") or []:
        advanced = lb.get("advancedConfiguration") or {}
        checks.append(attempt("traffic wiring", lambda lb=lb, advanced=advanced: _check_wiring(run, lb, advanced, Check)))
        if advanced.get("roleArn"):
            checks.append(attempt("traffic role", lambda arn=advanced["roleArn"]: _check_role(run, "traffic role", arn, Check)[0]))
    for hook in config.get("lifecycleHooks") or []:
        if hook.get("targetType", "AWS_LAMBDA") == "AWS_LAMBDA":
            checks.append(attempt("lifecycle hook", lambda hook=hook: _check_hook(run, hook, Check)))
    return checks


def _check_wiring(run, lb: dict, advanced: dict, Check):
    blue, green = lb.get("targetGroupArn"), advanced.get("alternateTargetGroupArn")
    if not green or not advanced.get("productionListenerRule"):
        return Check("traffic wiring", "fail", "loadBalancers[].advancedConfiguration needs alternateTargetGroupArn and productionListenerRule")
    groups = {g["TargetGroupArn"]: g for g in aws_resources.target_groups(run.aws, [blue, green])}
    problems = [f"target group {arn} does not exist" for arn in (blue, green) if arn not in groups]
    if blue == green:
        problems.append(f"the alternate target group is the service's own ({blue}): ECS needs two to alternate")
    if not problems:
        shape = lambda g: (g.get("TargetType"), g.get("Port"), g.get("Protocol"), g.get("VpcId"))  # noqa: E731
        if shape(groups[blue]) != shape(groups[green]):
            problems.append(f"the two target groups differ (type, port, protocol, VPC): {shape(groups[blue])} vs {shape(groups[green])}")
    for field in ("productionListenerRule", "testListenerRule"):
        arn = advanced.get(field)
        if not arn:
            continue
        rules = aws_resources.listener_rules(run.aws, [arn])
        forwards = {g.get("TargetGroupArn") for r in rules for a in r.get("Actions") or []
                    for g in ((a.get("ForwardConfig") or {}).get("TargetGroups") or [{"TargetGroupArn": a.get("TargetGroupArn")}])}
        if not rules:
            problems.append(f"{field} {arn} does not exist")
        elif not forwards & {blue, green}:
            problems.append(f"{field} forwards to neither target group of the service")
    if problems:
        return Check("traffic wiring", "fail", "; ".join(problems))
    return Check("traffic wiring", "pass", "both target groups and the listener rules exist and forward to each other's pair")


def _check_role(run, label: str, arn: str, Check):
    """(check, role name) — the role exists and ECS may assume it."""
    import json

    role = aws_resources.role(run.aws, arn.rsplit("/", 1)[-1])
    document = _policy_document(role.get("AssumeRolePolicyDocument") or {})
    if ECS_SERVICE not in json.dumps(document):
        return Check(label, "fail", f"{role['RoleName']} does not trust {ECS_SERVICE}"), role["RoleName"]
    return Check(label, "pass", f"{role['RoleName']} exists and trusts {ECS_SERVICE}"), role["RoleName"]


def _check_hook(run, hook: dict, Check):
    function = hook.get("hookTargetArn") or ""
    try:
        aws_resources.lambda_function(run.aws, function)
    except Exception as exc:  # noqa: BLE001 - not found (or not readable) is the finding
        return Check("lifecycle hook", "fail", f"Lambda {function} ({', '.join(hook.get('lifecycleStages') or [])}): {error_code(exc) or exc}")
    if not hook.get("roleArn"):
        return Check("lifecycle hook", "fail", f"Lambda {function}: the hook has no roleArn for ECS to invoke it with")
    role_check, role_name = _check_role(run, "lifecycle hook", hook["roleArn"], Check)
    if not role_check.ok:
        return role_check
    if not _may_invoke(run, role_name, function):
        return Check("lifecycle hook", "fail", f"role {role_name} may not invoke {function} (no lambda:InvokeFunction on it)")
    return Check("lifecycle hook", "pass", f"Lambda {function} exists; {role_name} may invoke it")


def _may_invoke(run, role_name: str, function: str) -> bool:
    """Whether one of the role's policies (inline or attached) allows lambda:InvokeFunction on the function."""
    import fnmatch

    for document in aws_resources.role_policy_documents(run.aws, role_name):
        document = _policy_document(document)
        statements = document.get("Statement") or []
        for statement in statements if isinstance(statements, list) else [statements]:
            actions = statement.get("Action") or []
            resources = statement.get("Resource") or []
            actions, resources = ([a] if isinstance(a, str) else a for a in (actions, resources))
            if statement.get("Effect") == "Allow" and any(fnmatch.fnmatchcase("lambda:InvokeFunction", a) for a in actions) \
                    and any(fnmatch.fnmatchcase(function, r) or fnmatch.fnmatchcase(function + ":*", r) for r in resources):
                return True
    return False


# What the ECS Exec agent in a task needs from the task role (the SSM Session Manager channels).
EXEC_TASK_ACTIONS = ("ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                     "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel")


def check_exec(run, rendered: Rendered) -> list[Check]:
    """When the service enables ECS Exec: a task role, and (best effort: the role's readable policies,
    wildcards understood, conditions and boundaries not) the ssmmessages actions the agent needs."""
    if not rendered.service_definition.create_params.get("enableExecuteCommand"):
        return []
    ref = rendered.task_definition.get("taskRoleArn")
    if not ref:
        return [Check("ecs exec", "fail", "enableExecuteCommand is true but the task definition has no taskRoleArn: "
                                          "the ECS Exec agent needs a task role with " + ", ".join(EXEC_TASK_ACTIONS))]

    def one() -> Check:
        import fnmatch

        name = ref.rsplit("/", 1)[-1]
        granted: list[str] = []
        for document in aws_resources.role_policy_documents(run.aws, name):
            if isinstance(document, str):
                from urllib.parse import unquote

                document = json.loads(unquote(document))
            statements = document.get("Statement") or []
            for statement in statements if isinstance(statements, list) else [statements]:
                if statement.get("Effect") != "Allow":
                    continue
                actions = statement.get("Action") or []
                granted += [actions] if isinstance(actions, str) else list(actions)
        missing = [a for a in EXEC_TASK_ACTIONS if not any(fnmatch.fnmatch(a.lower(), g.lower()) for g in granted)]
        if missing:
            return Check("ecs exec", "warn", f"task role {name} does not seem to allow {', '.join(missing)} (what the ECS Exec agent needs; "
                                             "read from its policies, best effort)")
        return Check("ecs exec", "pass", f"task role {name} allows the ECS Exec agent's ssmmessages actions")

    return [attempt("ecs exec", one)]


# ---- cross-account images ----------------------------------------------------------------------


def pull_access(run, rendered_list: list[Rendered], *, image_must_exist: bool = True) -> tuple[list[Check], list]:
    """When an image's ECR repository is in another account than the environment (STS of the
    environment's session), read its repository policy with the repository side's credentials (the
    caller's own) and judge whether the environment's account — or the task execution role — may pull,
    and that the image is there. Same account: nothing is read. (checks, refusals: the BadInputs to raise)."""
    from ..image import repository_access as ra
    from ..image.registry import ecr_of, parse_repository

    checks: list[Check] = []
    refusals: list = []
    seen: set = set()
    for rendered in rendered_list:
        image = rendered.image
        try:
            repo = ra.parse_repository(image)
        except BadInput:
            continue  # not an ECR image: nothing a repository policy decides
        role = rendered.task_definition.get("executionRoleArn")
        if (repo.uri, role, image) in seen:
            continue
        seen.add((repo.uri, role, image))
        account = run.aws.account_id()
        if repo.account == account:
            continue
        ecr = ecr_of(run.image_aws, parse_repository(repo.uri))
        try:
            text = ecr.policy()
        except ExternalError as exc:
            if error_code(exc.__cause__) == "RepositoryNotFoundException":
                refusals.append(BadInput(f"image {image}: the repository {repo.uri} does not exist in account {repo.account}"))
                continue
            checks.append(Check("image access", "warn", f"{repo.uri} (account {repo.account}): cannot read its repository policy "
                                f"({exc.message}): that account {account} can pull cannot be proven"))
            text, unreadable = None, True
        else:
            unreadable = False
        if not unreadable:
            access = ra.pull_access(repo, account, text, execution_role_arn=role, environment=getattr(run, "environment_name", None))
            for warning in access.warnings:
                checks.append(Check("image access", "warn", warning))
            if not access.ok:
                refusals.append(access.refusal())
                continue
            if not access.unproven:
                checks.append(Check("image access", "pass", f"the repository policy of {repo.uri} (account {repo.account}) lets account {account} pull"))
        if image_must_exist:
            reference = image.split("@", 1)[1] if "@" in image else (image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "latest")
            try:
                found = ecr.image_exists(reference)
            except ExternalError as exc:
                checks.append(Check("image", "warn", f"cannot look up {image} in account {repo.account}: {exc.message}"))
                continue
            if not found:
                refusals.append(BadInput(
                    f"image {image}: {reference} is not in the repository {repo.uri} (account {repo.account}); "
                    f"account {account} would have nothing to pull",
                    hint="push it first (`deployer build --push` with the repository's credentials), or name an image that is there"))
                continue
            checks.append(Check("image", "pass", f"{image.rsplit('/', 1)[-1][:80]} is in {repo.uri} (account {repo.account})"))
    return checks, refusals


def require_pull_access(run, rendered_list: list[Rendered], *, image_must_exist: bool = True) -> list[Check]:
    """Before any write: exit 2 when the environment's account cannot pull a cross-account image (or it is
    not there); a warning when that cannot be proven. The checks found (for verify)."""
    found, refusals = pull_access(run, rendered_list, image_must_exist=image_must_exist)
    if refusals:
        if len(refusals) == 1:
            raise refusals[0]
        raise BadInput("\n".join(r.message for r in refusals), hint=refusals[0].hint)
    for check in found:
        if check.status == "warn":
            run.console.warn(f"pre-flight {check.name}: {check.reason}")
    return found


SCHEDULER = "scheduler.amazonaws.com"


def check_scheduler_role(run) -> list[Check]:
    """`schedules:`: the environment has the scheduler role's output, and the role trusts EventBridge Scheduler."""
    if not run.config.schedules:
        return []
    from .schedules import require_role

    def one():
        arn = require_role(run)
        role = aws_resources.role(run.aws, arn.rsplit("/", 1)[-1])
        document = _policy_document(role.get("AssumeRolePolicyDocument") or {})
        if SCHEDULER not in json.dumps(document):
            return Check("scheduler role", "fail", f"{role['RoleName']} does not trust {SCHEDULER}: EventBridge Scheduler cannot run the schedules")
        return Check("scheduler role", "pass", f"{role['RoleName']} exists and trusts {SCHEDULER} ({len(run.config.schedules)} schedules)")

    return [attempt("scheduler role", one)]
