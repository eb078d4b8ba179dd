"""`deployer verify`: every pre-flight check (deployer/release/checks.py), printed pass/fail/warn with its reason."""

from __future__ import annotations

from dataclasses import asdict

from ..release import checks as c
from ..release import checks as checks_
from ..core.errors import BadInput
from ..manifest.render import check_guardrails, render_service
from ..onboard.ownership import ownership_check


def verify(run, *, services: list[str] | None = None) -> dict:
    checks = [c.attempt("cluster", lambda: c.check_cluster(run))]
    for svc in run.services(services):
        try:
            rendered = render_service(run.render_inputs(guardrails=False), svc, c.release_image(run))
        except BadInput as exc:
            checks.append(c.Check("definitions", "fail", exc.message))
            continue
        # The admins' guardrails: a violation (or a policy that cannot be read) is exit 2, as for deploy.
        check_guardrails(run.policy, rendered, environment=run.environment_name)
        if run.policy is not None:
            checks.append(c.Check("guardrails", "pass", f"the definitions follow the deployer policy ({run.policy.source})"))
        checks.append(c.check_container(run, rendered))
        checks += c.check_network(run, rendered)
        checks += c.check_target_groups(run, rendered)
        checks += c.check_roles(run, rendered)
        checks.append(c.attempt("image", lambda rendered=rendered: c.check_image(run, rendered)))
        # A cross-account repository: exit 2 when the environment's account may not pull, as deploy does.
        access, refusals = c.pull_access(run, [rendered], image_must_exist=False)
        if refusals:
            raise refusals[0]
        checks += access
        checks += c.check_image_platform(run, rendered)
        checks += c.check_log_groups(run, rendered)
        checks += c.check_secrets(run, rendered)
        checks.append(ownership_check(run, svc.name))
        checks += c.check_alarms(run, rendered)
        checks += checks_.check_traffic(run, rendered)  # blue/green, linear, canary
        checks += checks_.check_exec(run, rendered)  # ECS Exec (deployer exec, port-forward)
    checks += c.check_scheduler_role(run)  # `schedules:`
    return {"ok": all(check.ok for check in checks), "checks": [asdict(check) for check in checks]}


def text(run, result: dict) -> str:
    marks = {"pass": "PASS", "fail": "FAIL", "warn": "WARN"}
    lines = [f"{marks[r['status']]}  {r['name']:<16} {r['reason']}" for r in result["checks"]]
    failed = sum(1 for r in result["checks"] if r["status"] == "fail")
    lines.append(f"{len(result['checks'])} checks, {failed} failed")
    return run.secrets.mask("\n".join(lines))
