"""ECS's native deployment strategies: BLUE_GREEN, LINEAR, CANARY (ROLLING is the default).

The service definition picks the strategy (`deploymentConfiguration.strategy`, `bakeTimeInMinutes`,
`linearConfiguration`, `canaryConfiguration`, `lifecycleHooks`); the admins' environment provides
the traffic pieces (alternate target group, production and test listener rules, the role ECS
assumes), mapped by `environment.outputs`. This module:

- completes `loadBalancers[].advancedConfiguration` from those outputs (ECS refuses a blue/green
  load balancer without it), and keeps `loadBalancers` out of an UpdateService that does not
  change it (re-sending it would restart the target-group alternation);
- follows a deployment's lifecycle stage during the watch (one DescribeServiceDeployments per poll,
  only for services with a strategy), says when it is paused at a hook and what to run, stops the
  watch early at `--wait-until STAGE`, and explains a failing hook;
- rolls back an in-flight strategy deployment with StopServiceDeployment(ROLLBACK) (traffic goes
  back to blue at once) and resumes a paused one with ContinueServiceDeployment.
"""

from __future__ import annotations

from .aws import error_code, translate_errors
from .console import quote_untrusted
from .errors import BadInput, DeployerError

STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")
# The service deployment's lifecycle stages, in order (botocore's ServiceDeploymentLifecycleStage).
STAGES = (
    "RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP",
)
STAGE_TEXT = {
    "RECONCILE_SERVICE": "reconciling the service",
    "PRE_SCALE_UP": "before scale-up (hooks)",
    "SCALE_UP": "starting the new revision next to the running one",
    "POST_SCALE_UP": "new revision up (hooks)",
    "TEST_TRAFFIC_SHIFT": "test traffic to the new revision",
    "POST_TEST_TRAFFIC_SHIFT": "test traffic on the new revision (hooks)",
    "PRODUCTION_TRAFFIC_SHIFT": "shifting production traffic",
    "POST_PRODUCTION_TRAFFIC_SHIFT": "production traffic on the new revision (hooks)",
    "BAKE_TIME": "bake time: the previous revision stays ready for a rollback",
    "CLEAN_UP": "removing the previous revision",
}
# `--wait-until` names: return once the deployment reached (or passed) the stage.
WAIT_UNTIL = {
    "scaled-up": "POST_SCALE_UP",
    "test-traffic": "POST_TEST_TRAFFIC_SHIFT",
    "traffic-shifted": "POST_PRODUCTION_TRAFFIC_SHIFT",
    "bake-done": "CLEAN_UP",
}
# What each environment.outputs key becomes in advancedConfiguration.
TRAFFIC_FIELDS = {
    "alternate_target_group": "alternateTargetGroupArn",
    "production_listener_rule": "productionListenerRule",
    "test_listener_rule": "testListenerRule",
    "traffic_role": "roleArn",
}
REQUIRED_TRAFFIC = ("alternate_target_group", "production_listener_rule", "traffic_role")
PAUSED, STAGE_REACHED = "PAUSED", "STAGE_REACHED"  # watch states that stop early without a verdict


def strategy_of(deployment_configuration: dict | None) -> str:
    return ((deployment_configuration or {}).get("strategy") or "ROLLING").upper()


def wait_until_stage(value: str | None) -> str | None:
    """`--wait-until` → the lifecycle stage to return at; a bad value is bad input naming the flag."""
    if not value:
        return None
    key = value.strip().lower()
    if key in WAIT_UNTIL:
        return WAIT_UNTIL[key]
    stage = key.upper().replace("-", "_")
    if stage in STAGES:
        return stage
    raise BadInput(f"--wait-until {value}: not a stage; use one of {', '.join(WAIT_UNTIL)} or a lifecycle stage ({', '.join(s.lower().replace('_', '-') for s in STAGES)})")


# ---- definitions ---------------------------------------------------------------------------------
def complete_load_balancers(params: dict, environment, shown: str) -> None:
    """A blue/green, linear or canary service's load balancers get advancedConfiguration from the environment."""
    strategy = strategy_of(params.get("deploymentConfiguration"))
    if strategy not in STRATEGIES:
        return
    traffic = getattr(environment, "traffic", None) or {}
    for i, lb in enumerate(params.get("loadBalancers") or []):
        if not lb.get("targetGroupArn") or lb.get("advancedConfiguration"):
            continue
        missing = [key for key in REQUIRED_TRAFFIC if not traffic.get(key)]
        if missing:
            raise BadInput(
                f"{shown}: deploymentConfiguration.strategy {strategy} needs loadBalancers[{i}].advancedConfiguration, and the "
                f"environment has no {', '.join(f'environment.outputs.{k}' for k in missing)} output to build it from",
                hint="map the outputs in deployer.yaml (environment.outputs.alternate_target_group, production_listener_rule, "
                "test_listener_rule, traffic_role), or set advancedConfiguration in the service definition",
            )
        lb["advancedConfiguration"] = {field: traffic[key] for key, field in TRAFFIC_FIELDS.items() if traffic.get(key)}


def keep_wiring(update: dict, changes: dict) -> None:
    """UpdateService carries loadBalancers only when they change: re-sending them is a configuration
    change that restarts ECS's target-group alternation (and, without advancedConfiguration, breaks it)."""
    if "loadBalancers" in update and "loadBalancers" not in changes:
        update.pop("loadBalancers")


def bake_seconds(deployment_configurations: list[dict | None]) -> int:
    """The longest time ECS waits on purpose in one of these deployments (bake, canary, linear steps)."""
    longest = 0.0
    for config in deployment_configurations:
        config = config or {}
        strategy = strategy_of(config)
        if strategy not in STRATEGIES:
            continue
        minutes = float(config.get("bakeTimeInMinutes") or 0)
        if strategy == "CANARY":
            minutes += float((config.get("canaryConfiguration") or {}).get("canaryBakeTimeInMinutes", 10))
        elif strategy == "LINEAR":
            linear = config.get("linearConfiguration") or {}
            steps = max(1, int(-(-100 // float(linear.get("stepPercent", 10.0)))))
            minutes += (steps - 1) * float(linear.get("stepBakeTimeInMinutes", 6))
        longest = max(longest, minutes)
    return int(longest * 60)


# ---- the ECS calls -----------------------------------------------------------------------------
def describe_record(ecs_client, arn: str) -> dict | None:
    with translate_errors(f"describing service deployment {arn}"):
        found = ecs_client.describe_service_deployments(serviceDeploymentArns=[arn]).get("serviceDeployments") or []
    return found[0] if found else None


def awaiting_hook(record: dict | None) -> dict | None:
    return next((h for h in (record or {}).get("lifecycleHookDetails") or [] if h.get("status") == "AWAITING_ACTION"), None)


def in_flight(ecs_client, service: dict | None) -> dict | None:
    """The service's strategy deployment still IN_PROGRESS (its record), if any."""
    if not service or strategy_of(service.get("deploymentConfiguration")) not in STRATEGIES or not service.get("currentServiceDeployment"):
        return None
    record = describe_record(ecs_client, service["currentServiceDeployment"])
    return record if record and record.get("status") in ("PENDING", "IN_PROGRESS") else None


# ---- watching by stage -------------------------------------------------------------------------
class StageWatch:
    """Called by rollout.watch for each service on each poll while no verdict is in: shows the
    lifecycle stage and hooks of a strategy deployment; returns an early-stop Verdict when it is
    paused at a hook, or reached the `--wait-until` stage."""

    def __init__(self, run, wait_until: str | None = None, services: set[str] | None = None, watched: list[str] = ()):
        self.run = run
        self.services = services  # the services deployed with a strategy (None: look at each)
        self.wait_until = wait_until_stage(wait_until)
        self.shown: dict[str, tuple] = {}
        self.hooks_shown: dict[str, str] = {}
        self.records: dict[str, dict] = {}  # service -> the last record read
        self.available = True
        for name in watched:
            if self.wait_until and services is not None and name not in services:
                self._rolling_note(name)

    def __call__(self, name: str, service: dict, target):
        from .rollout import Verdict

        if strategy_of(service.get("deploymentConfiguration")) not in STRATEGIES:
            if self.wait_until and name not in self.shown:
                self._rolling_note(name)
            return None
        if not self.available:
            return None
        arn = service.get("currentServiceDeployment")
        if not arn:
            return None
        try:
            record = describe_record(self.run.aws.client("ecs"), arn)
        except DeployerError as exc:
            if error_code(exc.__cause__) in ("AccessDeniedException", "UnknownOperationException"):
                self.available = False
                self.run.console.info(f"cannot read the deployment's lifecycle stage ({exc.message}); watching without it")
            return None
        if record is None:
            return None
        self.records[name] = record
        stage, status = record.get("lifecycleStage"), record.get("status")
        if self.shown.get(name) != (stage, status):
            self.shown[name] = (stage, status)
            self.run.console.info(f"{name}: {status} at {stage} — {STAGE_TEXT.get(stage, stage)}")
        for hook in record.get("lifecycleHookDetails") or []:
            key = f"{hook.get('hookId')}:{hook.get('status')}"
            if key not in self.hooks_shown:
                self.hooks_shown[key] = name
                running = hook.get("status") in ("IN_PROGRESS", "AWAITING_ACTION")  # then the record's stage is the hook's
                self.run.console.info(f"{name}: lifecycle hook {quote_untrusted(hook.get('targetArn') or hook.get('targetType'))}{f' at {stage}' if running else ''}: {quote_untrusted(hook.get('status'))}")
        if status != "IN_PROGRESS":
            return None
        hook = awaiting_hook(record)
        if hook is not None:
            message = (f"deployment paused at {stage} (PAUSE hook {hook.get('hookId')}"
                       + (f", times out at {hook['expiresAt']} with {hook.get('timeoutAction')}" if hook.get("expiresAt") else "")
                       + f"); resume: `deployer continue --service {name}`; roll back: `deployer continue --rollback --service {name}`")
            return Verdict(name, True, PAUSED, message, target.deployment_id, service.get("taskDefinition"))
        if self.wait_until and stage in STAGES and STAGES.index(stage) >= STAGES.index(self.wait_until):
            message = f"reached {stage} (--wait-until); the deployment goes on in ECS: `deployer wait` follows it to the verdict"
            return Verdict(name, True, STAGE_REACHED, message, target.deployment_id, service.get("taskDefinition"))
        return None

    def _rolling_note(self, name: str) -> None:
        self.shown[name] = ()
        self.run.console.info(f"{name}: --wait-until applies to blue/green, linear and canary deployments; watching to the verdict")

    def explain(self, name: str) -> list[str]:
        """A failed hook's Lambda, stage and reason (hooks leave no stopped tasks to explain them)."""
        if self.services is not None and name not in self.services:
            return []  # a rolling service: no hooks, no extra call
        try:
            arn = (self.records.get(name) or {}).get("serviceDeploymentArn")
            if arn is None:  # it failed before a poll saw it: the service still points at its record
                live = self.run.ecs.describe_service(self.run.environment.cluster, name) or {}
                if strategy_of(live.get("deploymentConfiguration")) not in STRATEGIES:
                    return []
                arn = live.get("currentServiceDeployment")
            record = describe_record(self.run.aws.client("ecs"), arn) if arn else None
        except DeployerError:
            record = self.records.get(name)
        if record is None:
            return []
        lines = []
        for hook in record.get("lifecycleHookDetails") or []:
            if hook.get("status") in ("FAILED", "TIMED_OUT"):
                reason = quote_untrusted((record.get("rollback") or {}).get("reason") or record.get("statusReason") or "")  # ECS's words: data
                lines.append(f"{name}: lifecycle hook {quote_untrusted(hook.get('targetArn') or 'PAUSE')} ({quote_untrusted(hook.get('targetType'))}) "
                             f"{quote_untrusted(hook.get('status'))} at {quote_untrusted(record.get('lifecycleStage'))}: {reason}".rstrip(": "))
        for line in lines:
            self.run.console.error(line)
        return lines


def status_of(run, service: dict) -> dict:
    """`deployer status`: a strategy service's strategy and where its current deployment stands."""
    strategy = strategy_of(service.get("deploymentConfiguration"))
    if strategy not in STRATEGIES:
        return {}
    try:
        record = describe_record(run.aws.client("ecs"), service["currentServiceDeployment"]) if service.get("currentServiceDeployment") else None
    except DeployerError:
        record = None
    hook = awaiting_hook(record) if record and record.get("status") == "IN_PROGRESS" else None
    return {"strategy": strategy, "service_deployment": None if record is None else {
        "arn": record.get("serviceDeploymentArn"), "status": record.get("status"), "stage": record.get("lifecycleStage"),
        "paused_at_hook": hook.get("hookId") if hook else None}}


def status_text(entry: dict) -> list[str]:
    if not entry.get("strategy"):
        return []
    record = entry.get("service_deployment") or {}
    line = f"  strategy {entry['strategy']}" + (f": deployment {record['status']} at {record['stage']}" if record else "")
    if record.get("paused_at_hook"):
        line += " — paused at a hook: `deployer continue` (or `deployer continue --rollback`)"
    return [line]


def is_early(verdict) -> bool:
    """The watch stopped before the verdict (paused at a hook, or the --wait-until stage reached)."""
    return verdict.state in (PAUSED, STAGE_REACHED)


def early_result(payload: dict, verdicts: dict, stages: StageWatch | None = None) -> dict | None:
    """The release/wait result when the watch stopped early (paused, or --wait-until) for at least one
    service and every other one succeeded: no verdict yet for those. Each of them gets the lifecycle
    `stage` it stopped at and the `reason` (what to run next); a finished one keeps its own status.
    None when nothing stopped early, or when another service failed (the failure path decides)."""
    early = {n: v for n, v in verdicts.items() if is_early(v)}
    if not early or any(not v.ok for n, v in verdicts.items() if n not in early):
        return None
    for entry in payload.get("services") or []:
        verdict = early.get(entry.get("service"))
        if verdict is not None:
            entry["status"] = "paused" if verdict.state == PAUSED else "started"
            entry["stage"] = ((stages.records if stages else {}).get(verdict.service) or {}).get("lifecycleStage")
            entry["reason"] = verdict.reason
    payload["status"] = "paused" if any(v.state == PAUSED for v in early.values()) else "started"
    return payload


def report_early(console, verdicts: dict) -> None:
    for verdict in verdicts.values():
        if not is_early(verdict):
            continue  # a finished service next to one stopped early: its own lines were said
        (console.warn if verdict.state == PAUSED else console.ok)(f"{verdict.service}: {verdict.reason}")


# ---- control -------------------------------------------------------------------------------------
def stoppable(run, live: dict[str, dict | None]) -> dict[str, dict]:
    """Services whose blue/green, linear or canary deployment is in flight: service -> its record."""
    client = run.aws.client("ecs")
    found = {}
    for name, service in live.items():
        try:
            record = in_flight(client, service)
        except DeployerError:
            record = None  # no Service Deployments API: the rollback goes the UpdateService way
        if record:
            found[name] = record
    return found


def stop(run, cluster: str, entry: dict, record: dict):
    """`deployer rollback` of a deployment in flight: ECS's own rollback, the same call a failed release
    makes (pipeline.stop_deployment); production traffic goes back on blue at once."""
    from .ecs import primary_deployment, short_name
    from .pipeline import ecs_rollback_target, stop_deployment

    run.console.step(f"{entry['service']}: stopping deployment {record['serviceDeploymentArn'].rsplit('/', 1)[-1]} "
                     f"at {record.get('lifecycleStage')} (StopServiceDeployment ROLLBACK: traffic back on the previous revision)")
    stop_deployment(run, record["serviceDeploymentArn"])
    service = run.ecs.describe_service(cluster, entry["service"]) or {}
    primary = primary_deployment(service) or {}
    entry.update(to=primary.get("taskDefinition") or entry["to"], deployment_id=primary.get("id"), via="StopServiceDeployment")
    run.console.info(f"{entry['service']}: ECS rolls back to {short_name(entry['to'])}")
    return ecs_rollback_target(entry["service"], record["serviceDeploymentArn"], entry["to"], entry["deployment_id"])


def continue_deployment(run, name: str, service: dict, action: str) -> dict:
    """ContinueServiceDeployment for the hook the service's deployment is paused at."""
    client = run.aws.client("ecs")
    record = in_flight(client, service)
    hook = awaiting_hook(record)
    if hook is None:
        where = f"its deployment is at {record.get('lifecycleStage')}" if record else "no blue/green, linear or canary deployment is in progress"
        raise BadInput(f"{name}: nothing to continue: no deployment is paused at a lifecycle hook ({where})",
                       hint="`deployer status` shows the deployment; `deployer wait` follows it")
    with translate_errors(f"continuing the deployment of {name}"):
        client.continue_service_deployment(serviceDeploymentArn=record["serviceDeploymentArn"], hookId=hook["hookId"], action=action)
    run.console.ok(f"{name}: {'continuing' if action == 'CONTINUE' else 'rolling back'} from {record.get('lifecycleStage')} (hook {hook['hookId']})")
    return {"service": name, "service_deployment": record["serviceDeploymentArn"], "stage": record.get("lifecycleStage"), "action": action}


# ---- pre-flight checks (`deployer verify`) -------------------------------------------------------
ECS_SERVICE = "ecs.amazonaws.com"


def check_traffic(run, rendered) -> list:
    """Blue/green, linear, canary: both target groups and the listener rules exist and belong
    together, ECS's role exists; each Lambda hook exists and its role may invoke it."""
    from .checks import Check, attempt

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
    elbv2 = run.aws.client("elbv2")
    groups = {g["TargetGroupArn"]: g for g in elbv2.describe_target_groups(TargetGroupArns=[blue, green])["TargetGroups"]}
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
        rules = elbv2.describe_rules(RuleArns=[arn])["Rules"]
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

    role = run.aws.client("iam").get_role(RoleName=arn.rsplit("/", 1)[-1])["Role"]
    document = _policy_document(role.get("AssumeRolePolicyDocument") or {})
    if ECS_SERVICE not in json.dumps(document):
        return Check(label, "fail", f"{role['RoleName']} does not trust {ECS_SERVICE}"), role["RoleName"]
    return Check(label, "pass", f"{role['RoleName']} exists and trusts {ECS_SERVICE}"), role["RoleName"]


def _check_hook(run, hook: dict, Check):
    function = hook.get("hookTargetArn") or ""
    try:
        run.aws.client("lambda").get_function(FunctionName=function)
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

    iam = run.aws.client("iam")
    documents = [iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
                 for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]]
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        try:
            version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
            documents.append(iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"])
        except Exception:  # noqa: BLE001 - an AWS-managed policy we cannot read grants nothing we can prove
            continue
    for document in documents:
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


def _policy_document(document) -> dict:
    """A policy document as IAM hands it over: a dict, URL-encoded JSON, or (moto's CloudFormation
    stores some that way) a Python literal."""
    import ast
    import json
    from urllib.parse import unquote

    if isinstance(document, dict):
        return document
    text = unquote(document)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        value = ast.literal_eval(text)
        return value if isinstance(value, dict) else {}


def iam_statements(rendered_list: list, service_arns: list[str]) -> list[dict]:
    """What the release role needs for strategy services: the Service Deployments calls, passing
    ECS's traffic and hook roles, and verify's reads of the wiring and the hooks."""
    configs = [(r, r.service_definition.create_params.get("deploymentConfiguration") or {}) for r in rendered_list]
    configs = [(r, c) for r, c in configs if strategy_of(c) in STRATEGIES]
    if not configs:
        return []
    roles = {lb["advancedConfiguration"]["roleArn"] for r, _ in configs for lb in r.service_definition.create_params.get("loadBalancers") or []
             if (lb.get("advancedConfiguration") or {}).get("roleArn")}
    roles |= {h["roleArn"] for _, c in configs for h in c.get("lifecycleHooks") or [] if h.get("roleArn")}
    functions = sorted({h["hookTargetArn"] for _, c in configs for h in c.get("lifecycleHooks") or [] if h.get("hookTargetArn")})
    deployments = [arn.replace(":service/", ":service-deployment/", 1) + "/*" for arn in service_arns]
    statements = [
        {"Sid": "StrategyDeploymentsList", "Effect": "Allow", "Action": ["ecs:ListServiceDeployments"], "Resource": service_arns},
        {"Sid": "StrategyDeploymentsControl", "Effect": "Allow",
         "Action": ["ecs:DescribeServiceDeployments", "ecs:StopServiceDeployment", "ecs:ContinueServiceDeployment"], "Resource": deployments},
        {"Sid": "StrategyPreflightReads", "Effect": "Allow", "Action": ["elasticloadbalancing:DescribeRules"], "Resource": "*"},
    ]
    if roles:
        statements.append({"Sid": "PassTrafficRoles", "Effect": "Allow", "Action": "iam:PassRole", "Resource": sorted(roles),
                           "Condition": {"StringEquals": {"iam:PassedToService": ECS_SERVICE}}})
        statements.append({"Sid": "ReadTrafficRoles", "Effect": "Allow", "Resource": sorted(roles),
                           "Action": ["iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies"]})
    if functions:
        statements.append({"Sid": "ReadHookFunctions", "Effect": "Allow", "Action": ["lambda:GetFunction"], "Resource": functions})
    return statements
