"""`deployer env`: the resolved environment outputs (read-only)."""

from __future__ import annotations


def env(run) -> dict:
    return run.environment.as_dict()


def text(result: dict) -> str:
    lines = [
        f"environment   {result['name']} ({result['source']}{', stack ' + result['stack'] if result['stack'] and result['stack'] != result['name'] else ''})",
        f"cluster       {result['cluster']}",
        f"subnets       {', '.join(result['subnets'])}",
        f"sec. groups   {', '.join(result['security_groups'])}",
        f"target group  {result['target_group'] or '(none: no load balancer)'}",
        f"repository    {result['repository']}",
        "outputs:",
    ]
    lines += [f"  {key} = {value}" for key, value in sorted(result["outputs"].items())]
    return "\n".join(lines)
