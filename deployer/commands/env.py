"""`deployer env`: the resolved environment outputs (read-only); `--all`: every environment with its account."""

from __future__ import annotations


def env(run) -> dict:
    result = run.environment.as_dict()
    if run.config.environments:
        result = {"environment": run.environment_name, **result}
    return result


def env_all(run) -> dict:
    """Each environment of `environments:` (a config without them: its one environment), resolved under its
    own role: the account STS answers with there, the region, the stack and the outputs."""
    config = run.base_config
    names = sorted(config.environments) or [None]
    environments = []
    for name in names:
        one = run.for_environment(name) if name else run
        resolved = one.environment
        environments.append({
            "environment": name,
            "account": one.aws.account_id(),
            "region": one.aws.region,
            "role_arn": one.config.environment.role_arn,
            **resolved.as_dict(),
        })
    return {"environments": environments}


def text(result: dict) -> str:
    source = f"{result['name']} ({result['source']}{', stack ' + result['stack'] if result['stack'] and result['stack'] != result['name'] else ''})"
    if result.get("environment"):
        lines = [f"environment   {result['environment']}", f"stack         {source}"]
    else:
        lines = [f"environment   {source}"]
    lines += [
        f"cluster       {result['cluster']}",
        f"subnets       {', '.join(result['subnets'])}",
        f"sec. groups   {', '.join(result['security_groups'])}",
        f"target group  {result['target_group'] or '(none: no load balancer)'}",
        f"repository    {result['repository']}",
        "outputs:",
    ]
    lines += [f"  {key} = {value}" for key, value in sorted(result["outputs"].items())]
    return "\n".join(lines)


def all_text(result: dict) -> str:
    blocks = []
    for one in result["environments"]:
        head = [
            f"{one['environment'] or '(the one environment)'}",
            f"  account       {one['account']}" + (f" (role {one['role_arn']})" if one.get("role_arn") else " (the caller's credentials)"),
            f"  region        {one['region']}",
            f"  stack         {one['stack'] or one['name']} ({one['source']})",
            f"  cluster       {one['cluster']}",
            f"  repository    {one['repository']}",
            "  outputs:",
        ]
        head += [f"    {key} = {value}" for key, value in sorted(one["outputs"].items())]
        blocks.append("\n".join(head))
    return "\n\n".join(blocks)
