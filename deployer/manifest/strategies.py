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

from ..core.errors import BadInput

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


# ---- pre-flight checks (`deployer verify`) -------------------------------------------------------
ECS_SERVICE = "ecs.amazonaws.com"


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
