"""Every command that reads deployer.yaml takes --env (and DEPLOYER_ENV): with `environments:` a command
without it cannot be used at all — it refuses to guess, and the flag its message names does not exist."""

import typer.main

from deployer.cli.app import app

# promote names its two environments itself (--from, --to).
WITHOUT_ENV = {"promote"}


def commands(group, prefix=()):
    for name, command in group.commands.items():
        path = (*prefix, name)
        if hasattr(command, "commands"):
            yield from commands(command, path)
        else:
            yield " ".join(path), command


def flags(command) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


def test_every_command_that_reads_the_config_takes_env():
    missing = [name for name, command in commands(typer.main.get_command(app))
               if "--config" in flags(command) and "--env" not in flags(command) and name not in WITHOUT_ENV]
    assert not missing, f"commands with --config but no --env: {missing}"


def test_the_check_sees_the_commands():
    names = dict(commands(typer.main.get_command(app)))
    assert {"logs", "scale", "restart", "tasks stop", "exec", "port-forward", "policy"} <= set(names)
    assert "--env" in flags(names["tasks stop"]) and "--env" not in flags(names["promote"])
