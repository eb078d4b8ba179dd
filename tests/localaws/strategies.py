"""ECS's native deployment strategies moto lacks: BLUE_GREEN, LINEAR and CANARY.

A deployment of a service whose `deploymentConfiguration.strategy` is one of them, with blue (the
running revision) serving, walks ECS's lifecycle stages instead of the rolling replacement:

  PRE_SCALE_UP -> SCALE_UP (green starts at full size next to blue) -> POST_SCALE_UP
  -> TEST_TRAFFIC_SHIFT (the test listener rule forwards to green) -> POST_TEST_TRAFFIC_SHIFT
  -> PRODUCTION_TRAFFIC_SHIFT (all at once; CANARY: canaryPercent, a bake, the rest; LINEAR:
     stepPercent steps with a bake between) -> POST_PRODUCTION_TRAFFIC_SHIFT -> BAKE_TIME
  -> CLEAN_UP (blue drains; the deployment completes)

Traffic is real moto state: the production and test listener rules' forward actions get the
weights of the two target groups (`loadBalancers[].advancedConfiguration`). Lifecycle hooks run at
their stages: an AWS_LAMBDA hook succeeds when the function exists in moto's Lambda, unless
`Settings.lifecycle_hooks` says otherwise for its ARN (FAILED with a reason, or IN_PROGRESS until
the hook's timeout); a PAUSE hook waits for ContinueServiceDeployment. A failing hook, a tripped
circuit breaker or StopServiceDeployment(ROLLBACK) puts production traffic back on blue at once:
ECS's rollback deployment adopts blue's running tasks and green drains.

Bake times are in "minutes" of `Settings.strategy_minute_seconds` seconds. The engine (rollout.py)
calls the hooks below; the records are service_deployments.py's."""
from __future__ import annotations

import fnmatch
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.core.utils import utcnow
from moto.ecs.exceptions import ECSException

STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")
# The record's lifecycle stages this engine walks, and the hook stages run at the end of each.
FLOW = ("PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
        "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP")
HOOK_STAGES = {"POST_TEST_TRAFFIC_SHIFT": ("POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT")}
HOOK_RESULTS = ("SUCCEEDED", "FAILED", "IN_PROGRESS")


@dataclass
class Run:
    """One strategy deployment in flight (what ECS keeps about it internally)."""

    dep_id: str
    strategy: str
    config: dict[str, Any]
    blue_tg: str | None
    green_tg: str | None
    production_rule: str | None
    test_rule: str | None
    stage: int = -1
    entered_at: float = 0.0
    hooks_left: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    hook: dict[str, Any] | None = None  # the record's lifecycleHookDetails entry in flight
    hook_started: float = 0.0
    hook_deadline: float | None = None
    traffic: float = 0.0  # percent of production traffic on green
    next_step_at: float = 0.0
    done: bool = False

    @property
    def stage_name(self) -> str:
        return FLOW[self.stage]


def strategy_of(svc: Any) -> str:
    return ((getattr(svc, "deployment_configuration", None) or {}).get("strategy") or "ROLLING").upper()


class Strategies:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.runs: dict[str, Run] = {}  # ecs-svc deployment id -> its run
        self.production_tg: dict[str, str] = {}  # service ARN -> the target group serving production

    def clear(self) -> None:
        self.runs.clear()
        self.production_tg.clear()

    @property
    def minute(self) -> float:
        return float(self.engine.settings.strategy_minute_seconds)

    # ---- validation (UpdateService) ------------------------------------------------
    def validate_update(self, svc: Any, props: dict[str, Any]) -> None:
        """ECS refuses a blue/green, linear or canary service whose load balancer lacks the
        alternate target group and the listener rule: it could not shift traffic."""
        config = props.get("deployment_configuration") or getattr(svc, "deployment_configuration", None) or {}
        if (config.get("strategy") or "ROLLING").upper() not in STRATEGIES:
            return
        balancers = props.get("load_balancers")
        if balancers is None:
            balancers = getattr(svc, "load_balancers", None) or []
        for lb in balancers:
            advanced = lb.get("advancedConfiguration") or {}
            missing = [k for k in ("alternateTargetGroupArn", "productionListenerRule", "roleArn") if not advanced.get(k)]
            if lb.get("targetGroupArn") and missing:
                raise ECSException("InvalidParameterException",
                                   f"loadBalancers: advancedConfiguration.{missing[0]} is required for the "
                                   f"{config['strategy']} deployment strategy")

    # ---- hooks from the engine -------------------------------------------------------
    def started(self, svc: Any, dep: dict[str, Any], sources: list[dict[str, Any]]) -> None:
        for source in sources:
            self.runs.pop(source["id"], None)  # a newer deployment replaced it
        strategy = strategy_of(svc)
        blue_serving = any(self.engine._running(s) for s in sources)
        if strategy not in STRATEGIES or not blue_serving:
            return  # rolling, or nothing serving yet (a first deployment just starts its tasks)
        lb = next((b for b in getattr(svc, "load_balancers", None) or [] if b.get("targetGroupArn")), {})
        advanced = lb.get("advancedConfiguration") or {}
        blue = self.production_tg.get(svc.arn) or lb.get("targetGroupArn")
        pair = [lb.get("targetGroupArn"), advanced.get("alternateTargetGroupArn")]
        green = next((tg for tg in pair if tg and tg != blue), None)
        self.runs[dep["id"]] = Run(dep["id"], strategy, dict(svc.deployment_configuration), blue, green,
                                   advanced.get("productionListenerRule"), advanced.get("testListenerRule"))
        record = self.engine.service_deployments.record_of(dep["id"])
        if record is not None:
            record["localaws_staged"] = True  # stages are this module's, not the rolling engine's
            record["lifecycleHookDetails"] = []

    def target_group_of(self, svc: Any, dep_id: str) -> str | None:
        """Where a deployment's tasks register: green's target group during a strategy deployment."""
        run = self.runs.get(dep_id)
        if run is not None and run.green_tg:
            return run.green_tg
        lb = (getattr(svc, "load_balancers", None) or [{}])[0]
        return self.production_tg.get(svc.arn) or lb.get("targetGroupArn")

    def holds_launch(self, dep: dict[str, Any]) -> bool:
        """Green does not start before the PRE_SCALE_UP hooks are done."""
        run = self.runs.get(dep["id"])
        return bool(run and not run.done and run.stage <= 0)

    def holds_blue(self, dep: dict[str, Any]) -> bool:
        """Blue keeps serving, at full size, until clean-up."""
        run = self.runs.get(dep["id"])
        return bool(run and not run.done)

    def completed(self, svc: Any, dep: dict[str, Any]) -> None:
        run = self.runs.pop(dep["id"], None)
        if run and run.green_tg:
            self.production_tg[svc.arn] = run.green_tg  # green is the next deployment's blue

    def rolled_back(self, backend: Any, svc: Any, failed: dict[str, Any], rollback_dep: dict[str, Any]) -> None:
        """ECS's rollback of a strategy deployment: traffic back on blue now; blue's tasks serve on."""
        run = self.runs.pop(failed["id"], None)
        if run is None:
            return
        self._shift(backend, svc, run, production=0.0, test_to_green=False)
        adopted = []
        for dep in svc.deployments:
            if dep["id"] in (failed["id"], rollback_dep["id"]):
                continue
            running = self.engine._running(dep)
            self.engine.tasks[dep["id"]] = [t for t in self.engine.tasks.get(dep["id"], []) if t not in running]
            adopted += running
        self.engine.tasks[rollback_dep["id"]].extend(adopted)
        self.engine._event(svc, f"(deployment {failed['id']}) production traffic back on (target-group {_name(run.blue_tg)}); "
                                f"{len(adopted)} tasks of the previous service revision keep serving.")

    def tick(self, backend: Any, svc: Any, dep: dict[str, Any]) -> None:
        """Move the deployment on: at most one stage (or hook, or traffic step) per tick."""
        run = self.runs.get(dep["id"])
        record = self.engine.service_deployments.record_of(dep["id"])
        if run is None or run.done or record is None or record["status"] != "IN_PROGRESS" or dep["rolloutState"] != "IN_PROGRESS":
            return
        now = time.time()
        if run.stage < 0:
            self._enter(svc, run, record, 0, now)
            return
        if run.hook is not None:
            self._watch_hook(backend, svc, dep, run, record, now)
            return
        if not self._stage_done(backend, svc, dep, run, now):
            return
        if run.hooks_left:
            self._start_hook(backend, svc, run, record, now)
            return
        self._enter(svc, run, record, run.stage + 1, now)
        if run.stage_name == "TEST_TRAFFIC_SHIFT":
            self._shift(backend, svc, run, production=0.0, test_to_green=True)
        elif run.stage_name == "CLEAN_UP":
            run.done = True  # blue drains now (the engine's drain); the deployment completes after

    # ---- ContinueServiceDeployment -------------------------------------------------------
    def continue_deployment(self, backend: Any, arn: str, hook_id: str | None, action: str) -> None:
        record = self.engine.service_deployments.records.get(arn)
        if record is None:
            raise ECSException("ServiceDeploymentNotFoundException", f"Service deployment {arn} not found.")
        run = next((r for d, r in self.runs.items() if self.engine.service_deployments.record_of(d) is record), None)
        hook = run.hook if run else None
        if hook is None or hook.get("status") != "AWAITING_ACTION":
            raise ECSException("InvalidParameterException", f"Service deployment {arn} is not paused at a lifecycle hook.")
        if hook_id and hook_id != hook["hookId"]:
            raise ECSException("InvalidParameterException", f"hookId {hook_id} is not the hook awaiting action ({hook['hookId']}).")
        if action not in ("CONTINUE", "ROLLBACK"):
            raise ECSException("InvalidParameterException", f"action must be CONTINUE or ROLLBACK, not {action}")
        svc, dep = self._service_of(run)
        self._end_hook(backend, svc, dep, run, record, "SUCCEEDED" if action == "CONTINUE" else "FAILED",
                       f"ContinueServiceDeployment {action}", rollback=action == "ROLLBACK")

    # ---- steps -----------------------------------------------------------------------
    def _enter(self, svc: Any, run: Run, record: dict[str, Any], stage: int, now: float) -> None:
        run.stage, run.entered_at = stage, now
        hook_stages = HOOK_STAGES.get(run.stage_name, (run.stage_name,))
        run.hooks_left = [(s, h) for s in hook_stages for h in run.config.get("lifecycleHooks") or []
                          if s in (h.get("lifecycleStages") or [])]
        record.update(lifecycleStage=run.stage_name, updatedAt=utcnow())
        if run.stage_name == "BAKE_TIME":
            minutes = float(run.config.get("bakeTimeInMinutes") or 0)
            self.engine._event(svc, f"(deployment {run.dep_id}) bake time: {minutes:g} minutes before the previous service revision is removed.")

    def _stage_done(self, backend: Any, svc: Any, dep: dict[str, Any], run: Run, now: float) -> bool:
        name = run.stage_name
        if name == "SCALE_UP":
            return dep["runningCount"] >= svc.desired_count and dep["pendingCount"] == 0
        if name == "PRODUCTION_TRAFFIC_SHIFT":
            if run.traffic >= 100.0:
                return True
            if now >= run.next_step_at:
                percent, bake = self._next_step(run)
                self._shift(backend, svc, run, production=percent, test_to_green=True)
                run.next_step_at = now + bake * self.minute
            return False
        if name == "BAKE_TIME":
            return now - run.entered_at >= float(run.config.get("bakeTimeInMinutes") or 0) * self.minute
        return True

    def _next_step(self, run: Run) -> tuple[float, float]:
        """(percent on green after this step, minutes to bake before the next)."""
        if run.strategy == "CANARY":
            canary = run.config.get("canaryConfiguration") or {}
            if run.traffic == 0:
                return float(canary.get("canaryPercent", 5.0)), float(canary.get("canaryBakeTimeInMinutes", 10))
            return 100.0, 0.0
        if run.strategy == "LINEAR":
            linear = run.config.get("linearConfiguration") or {}
            percent = min(100.0, round(run.traffic + float(linear.get("stepPercent", 10.0)), 1))
            return percent, float(linear.get("stepBakeTimeInMinutes", 6)) if percent < 100 else 0.0
        return 100.0, 0.0

    def _start_hook(self, backend: Any, svc: Any, run: Run, record: dict[str, Any], now: float) -> None:
        stage, hook = run.hooks_left.pop(0)
        pause = hook.get("targetType") == "PAUSE"
        timeout = hook.get("timeoutConfiguration") or {}
        minutes = timeout.get("timeoutInMinutes")
        run.hook_deadline = now + float(minutes) * self.minute if minutes else None
        run.hook = {"hookId": uuid.uuid4().hex[:12], "targetType": hook.get("targetType") or "AWS_LAMBDA",
                    "status": "AWAITING_ACTION" if pause else "IN_PROGRESS",
                    "timeoutAction": timeout.get("action") or "ROLLBACK", "localaws_stage": stage}
        if not pause:
            run.hook["targetArn"] = hook.get("hookTargetArn")
        if run.hook_deadline:
            run.hook["expiresAt"] = utcnow().timestamp() + float(minutes) * self.minute
        run.hook_started = now
        record.setdefault("lifecycleHookDetails", []).append(run.hook)
        record["updatedAt"] = utcnow()
        what = "paused: waiting for ContinueServiceDeployment" if pause else f"invoking {hook.get('hookTargetArn')}"
        self.engine._event(svc, f"(deployment {run.dep_id}) lifecycle hook {run.hook['hookId']} at {stage}: {what}.")

    def _watch_hook(self, backend: Any, svc: Any, dep: dict[str, Any], run: Run, record: dict[str, Any], now: float) -> None:
        hook = run.hook
        if run.hook_deadline is not None and now >= run.hook_deadline:
            rollback = hook["timeoutAction"] == "ROLLBACK"
            self._end_hook(backend, svc, dep, run, record, "TIMED_OUT", f"timed out ({hook['timeoutAction']})", rollback=rollback)
            return
        if hook["status"] == "AWAITING_ACTION":
            return  # a PAUSE hook: ContinueServiceDeployment ends it
        result, reason = self._lambda_answer(backend, hook.get("targetArn") or "")
        if result == "IN_PROGRESS":
            return
        self._end_hook(backend, svc, dep, run, record, result, reason, rollback=result == "FAILED")

    def _lambda_answer(self, backend: Any, arn: str) -> tuple[str, str]:
        for pattern, answer in (self.engine.settings.lifecycle_hooks or {}).items():
            if fnmatch.fnmatchcase(arn, pattern):
                return answer.get("result", "SUCCEEDED"), answer.get("reason") or ""
        from moto.awslambda.models import lambda_backends

        try:
            lambda_backends[backend.account_id][backend.region_name].get_function(arn)
        except Exception:  # noqa: BLE001 - moto raises its own not-found error
            return "FAILED", f"Function not found: {arn}"
        return "SUCCEEDED", ""

    def _end_hook(self, backend: Any, svc: Any, dep: dict[str, Any], run: Run, record: dict[str, Any],
                  status: str, reason: str, *, rollback: bool) -> None:
        hook, run.hook = run.hook, None
        hook["status"] = status
        record["updatedAt"] = utcnow()
        target = hook.get("targetArn") or "PAUSE"
        stage = hook.get("localaws_stage")
        self.engine._event(svc, f"(deployment {run.dep_id}) lifecycle hook {hook['hookId']} ({target}) at {stage}: "
                                f"{status}" + (f": {reason}" if reason else "") + ".")
        if rollback:
            why = f"Lifecycle hook {target} at {stage} {status}" + (f": {reason}" if reason else "")
            self.engine._trip(backend, svc, dep, why + ".", f"lifecycle hook {status.lower()}", True)

    def _shift(self, backend: Any, svc: Any, run: Run, *, production: float, test_to_green: bool) -> None:
        """Weights on the listener rules, as ECS sets them (moto's ELBv2 rules)."""
        run.traffic = production
        green = round(production)
        self._forward(backend, run.production_rule, {run.blue_tg: 100 - green, run.green_tg: green})
        if run.test_rule:
            self._forward(backend, run.test_rule, {run.green_tg: 100, run.blue_tg: 0} if test_to_green
                          else {run.blue_tg: 100, run.green_tg: 0})
        if test_to_green and production == 0.0:
            self.engine._event(svc, f"(deployment {run.dep_id}) test traffic on the new service revision (target-group {_name(run.green_tg)}).")
        elif production > 0:
            self.engine._event(svc, f"(deployment {run.dep_id}) production traffic shifted: {production:g}% on the new service "
                                    f"revision (target-group {_name(run.green_tg)}), {100 - production:g}% on the previous one.")

    def _forward(self, backend: Any, rule_arn: str | None, weights: dict[str | None, int]) -> None:
        if not rule_arn:
            return
        from moto.elbv2.models import FakeAction, elbv2_backends

        elbv2 = elbv2_backends[backend.account_id][backend.region_name]
        rules = [r for lb in elbv2.load_balancers.values() for listener in lb.listeners.values()
                 for r in listener.rules.values() if r.arn == rule_arn]
        if not rules:
            return
        groups = [{"TargetGroupArn": tg, "Weight": w} for tg, w in weights.items() if tg]
        rules[0].actions = [FakeAction({"Type": "forward", "ForwardConfig": {"TargetGroups": groups}})]

    def _service_of(self, run: Run) -> tuple[Any, dict[str, Any]]:
        for _, svc in self.engine.services.values():
            for dep in svc.deployments:
                if dep["id"] == run.dep_id:
                    return svc, dep
        raise ECSException("InvalidParameterException", f"deployment {run.dep_id} is no longer the service's")


def _name(target_group_arn: str | None) -> str | None:
    """A target group's name, from arn:...:targetgroup/<name>/<id>."""
    return target_group_arn.split("/")[1] if target_group_arn and "/" in target_group_arn else target_group_arn
