"""`deployer env`: the resolved environment outputs (read-only); `--all`: every environment with its account."""

from __future__ import annotations


def env(run) -> dict:
    result = run.environment.as_dict()
    if run.config.environments:
        result = {"environment": run.environment_name, **result}
    return result


def env_all(run) -> dict:
    """Each environment of `environments:` (a config without them: its one environment), resolved under its
    own role: the account STS answers with there, the region, the stack and the outputs.

    One environment that cannot be read (its role not assumable, its stack not readable, an output
    missing) does not hide the others: it is listed with its error, and the result carries `failed`
    (their names) and `exit_code`: the code `deployer env --env NAME` exits with for that environment
    (3 for AWS's refusals, 2 for a config that does not fit the stack); 3 when they differ."""
    from ..core.errors import DeployerError

    config = run.base_config
    names = sorted(config.environments) or [None]
    environments, failed, codes = [], [], set()
    for name in names:
        one = run.for_environment(name) if name else run
        try:
            resolved = one.environment
            environments.append({
                "environment": name,
                "account": one.aws.account_id(),
                "region": one.aws.region,
                "role_arn": one.config.environment.role_arn,
                **resolved.as_dict(),
            })
        except DeployerError as exc:
            # exc.message quotes AWS's own text as untrusted (aws/session.py translate_errors); masked on output.
            entry = {"environment": name, "role_arn": _role_arn(one), "error": run.secrets.mask(exc.message), "exit_code": exc.exit_code}
            if exc.hint:
                entry["hint"] = run.secrets.mask(exc.hint)
            environments.append(entry)
            failed.append(name or "(the one environment)")
            codes.add(exc.exit_code)
            run.console.error(f"{name or 'the environment'}: {run.secrets.mask(exc.message)}")
    result: dict = {"environments": environments}
    if failed:
        result.update(status="error", failed=failed, exit_code=failed_exit_code(codes))
        run.console.info(f"{len(failed)} of {len(names)} environment(s) could not be read: {', '.join(failed)} (exit {result['exit_code']})")
    return result


def failed_exit_code(codes: set[int]) -> int:
    """The exit code of `env --all` when environments failed: theirs when they agree (3: AWS refused or
    unreachable; 2: the config does not fit the stack), else 3."""
    return next(iter(codes)) if len(codes) == 1 else 3


def _role_arn(run) -> str | None:
    try:
        return run.config.environment.role_arn
    except Exception:  # noqa: BLE001 - the entry says what failed; the role is only context
        return None


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
        if "error" in one:
            head = [f"{one['environment'] or '(the one environment)'}", f"  error         {one['error']}"]
            if one.get("role_arn"):
                head.append(f"  role          {one['role_arn']}")
            if one.get("hint"):
                head.append(f"  hint          {one['hint']}")
            blocks.append("\n".join(head))
            continue
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
