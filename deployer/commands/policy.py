"""`deployer policy`: the admins' guardrails in force (the environment stack's output DeployerPolicy)."""

from __future__ import annotations

from ..manifest.guardrails import OUTPUT_NAME


def policy(run) -> dict:
    env = run.environment
    found = run.policy  # exit 2 when the stack names a policy that cannot be read
    where = f"stack {env.stack}" if env.stack else f"Proton environment {env.name}"
    if found is None:
        return {"environment": env.name, "stack": env.stack, "reference": None, "source": None, "policy": None,
                "message": f"no {OUTPUT_NAME} output in {where}: no guardrails"}
    return {"environment": env.name, "stack": env.stack, "reference": env.policy_reference, "source": found.source,
            "policy": found.document, "message": f"the deployer policy of {where}, from {found.source}"}


def text(run, result: dict) -> str:
    """The policy as YAML under a comment naming its source; each line of the admins' document escaped
    (quote_untrusted: it cannot colour the terminal or forge a line)."""
    import yaml

    from ..core.console import quote_untrusted

    if result["policy"] is None:
        return run.secrets.mask(result["message"])
    body = yaml.safe_dump(result["policy"], sort_keys=False, allow_unicode=True, width=110).rstrip().splitlines()
    return run.secrets.mask("\n".join([f"# {quote_untrusted(result['message'])}"] + [quote_untrusted(line) for line in body]))
