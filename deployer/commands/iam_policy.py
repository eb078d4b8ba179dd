"""`deployer iam-policy --for release|prune|run|exec|operate|adopt`: the least-privilege IAM policy of each use.

This command gathers what the policy names — deployer.yaml, the rendered templates, the environment's
outputs, the account and region, and for `--for operate` the services' Application Auto Scaling
targets as they are now — and prints the document. The policies themselves are built from those
plain values by deployer/release/iam_policy.py (what each use may call, on which ARNs) and, for
`--for adopt` (a one-off hand-over, run before any deployer.yaml exists: built from its flags and the
live account, the stack that owns the service looked up now), by deployer/onboard/adopt_policy.py.
"""

from __future__ import annotations

from ..core.errors import BadInput
from ..manifest.render import render_service
from ..onboard.adopt_policy import adopt_inputs, adopt_policy
from ..release import iam_policy as policies

USES = (*policies.USES, "adopt")


def iam_policy(run, *, use: str = "release", adopt: dict | None = None) -> dict:
    if use not in USES:
        raise BadInput(f"--for {use!r}: one of {', '.join(USES)}")
    if use == "adopt":
        return adopt_policy(adopt_inputs(run, **(adopt or {})))
    given = [flag for flag, value in (adopt or {}).items() if value]
    if given:
        raise BadInput(f"--{given[0]}: only with --for adopt (the other uses read deployer.yaml)")
    return policies.iam_policy(_inputs(run, use), use)


def _inputs(run, use: str) -> policies.PolicyInputs:
    """What the policy of `use` names, read from deployer.yaml, the environment and the account. Only
    `--for release` renders the schedules' own templates; only `--for operate` reads the scaling targets."""
    env = run.environment
    region, account = run.aws.region, run.aws.account_id()
    config = run.config
    services = run.services(None)
    image = f"{env.repository}:policy"
    rendered = tuple(render_service(run.render_inputs(guardrails=False), svc, image) for svc in services)
    families = {s.name: s.family for s in config.services}
    schedules = tuple(policies.Schedule(s.name) if s.task_definition is None else policies.Schedule(
        s.name, f"{families[s.service]}-{s.key}", _render_schedule(run, s, image) if use == "release" else None) for s in config.schedules)
    return policies.PolicyInputs(
        account=account,
        region=region,
        cluster=env.cluster,
        services=tuple(policies.Service(s.name, s.family) for s in services),
        repository=env.repository,
        stack=env.stack or env.name,
        proton_environment=env.name if env.source == "proton" else None,
        rendered=rendered,
        app=config.app,
        schedules=schedules,
        scheduler_role=env.scheduler_role,
        policy_reference=env.policy_reference,
        build_secrets=tuple((config.image.secrets or {}).items()),
        config_path=str(config.path),
        scalable_targets=_scalable_targets(run, env.cluster, services) if use == "operate" else (),
    )


def _render_schedule(run, schedule, image: str) -> dict:
    """A schedule's own task definition, rendered (its roles are passed, its log groups read)."""
    from ..release.schedules import render_own

    return render_own(run, schedule, image)


def _scalable_targets(run, cluster: str, services) -> tuple[str, ...]:
    """The ARNs of the services' Application Auto Scaling targets as they are now (`scale --min/--max`
    updates an existing one; a target registered or re-created later needs the policy printed again)."""
    from ..aws import resources

    found, missing = [], []
    for svc in services:
        try:
            targets = resources.scalable_targets(run.aws, cluster, svc.name)
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
    return tuple(sorted(set(found)))


def text(run, result: dict) -> str:
    import json

    return json.dumps(result, indent=2)
