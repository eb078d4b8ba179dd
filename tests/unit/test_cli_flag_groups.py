"""The common flags come in groups a command declares once (@common in deployer/cli/app.py): a command has
every flag of each group it takes, unless it names the one it goes without and why; no command spells a
common flag by hand. Everything here is derived from the group definitions in deployer/cli/options.py."""

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from deployer.cli.app import app
from deployer.cli.options import ACCESS, CHANGE, GROUPS, LEASE, ORDER, VARS, WATCH, common

COMMON_OPTS = {opt: flag for flag in ORDER for opt in flag.opts()}


def commands(group, prefix=()):
    """Every command of the CLI by its path, and the `tasks` group itself (its callback takes flags too)."""
    for name, command in group.commands.items():
        path = (*prefix, name)
        yield " ".join(path), command
        if hasattr(command, "commands"):
            yield from commands(command, path)


ALL = dict(commands(typer.main.get_command(app)))


def declared(command):
    return getattr(command.callback, "common", None)


def opts(command) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


def test_every_command_with_a_common_flag_declares_its_groups():
    undeclared = [name for name, command in ALL.items() if opts(command) & set(COMMON_OPTS) and declared(command) is None]
    assert not undeclared, f"common flags spelled by hand (use @common): {undeclared}"
    assert {"release", "deploy", "status", "tasks", "tasks stop", "init", "adopt"} <= {n for n, c in ALL.items() if declared(c)}


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g.name)
def test_a_command_taking_a_group_has_every_flag_of_it(group):
    takers = {name: declared(command) for name, command in ALL.items() if declared(command) and group in declared(command).groups}
    assert takers, f"no command takes {group.name}"
    missing = {}
    for name, common_ in takers.items():
        lacking = [opt for flag in group.flags if flag.name not in common_.without for opt in flag.opts() if opt not in opts(ALL[name])]
        if lacking:
            missing[name] = lacking
    assert not missing, f"commands lacking a flag of {group.name}: {missing}"


def test_a_command_taking_access_has_all_of_it_but_what_it_names():
    takers = [name for name, command in ALL.items() if declared(command) and ACCESS in declared(command).groups]
    assert len(takers) > 15
    for name in takers:
        without = declared(ALL[name]).without
        expected = {opt for flag in ACCESS.flags if flag.name not in without for opt in flag.opts()}
        assert expected <= opts(ALL[name]), (name, expected - opts(ALL[name]))
        dropped = {opt for flag in ACCESS.flags if flag.name in without for opt in flag.opts()}
        assert not dropped & opts(ALL[name]), (name, dropped)


def test_a_flag_left_out_of_a_group_says_why():
    for name, command in ALL.items():
        if declared(command):
            for flag, why in declared(command).without.items():
                assert len(why.split()) >= 3, f"{name}: without {flag}: {why!r}"


def test_no_common_flag_has_two_definitions():
    """A common flag on a command is the one of ORDER: same parameter name, same spellings, same default."""
    for name, command in ALL.items():
        for param in command.params:
            flag = next((COMMON_OPTS[o] for o in getattr(param, "opts", []) if o in COMMON_OPTS), None)
            if flag is not None:
                assert param.name == flag.name and set(param.opts) == set(flag.opts()), (name, param.name, param.opts)
                assert param.default == flag.default, (name, param.name, param.default)


def test_the_common_flags_come_after_the_commands_own_in_one_order():
    rank = {flag.name: i for i, flag in enumerate(ORDER)}
    for name, command in ALL.items():
        names = [p.name for p in command.params if p.name != "help"]
        common_ = [n for n in names if n in rank]
        assert common_ == sorted(common_, key=rank.__getitem__), (name, common_)
        if common_:
            assert names[-len(common_):] == common_, (name, names)


# ---- the decorator itself ----------------------------------------------------------------------

def _app_with(decorated):
    tiny = typer.Typer()
    tiny.command()(decorated)
    tiny.command(name="other")(lambda: None)  # two commands: typer keeps the name on the command line
    return tiny


def test_the_body_gets_one_options_built_from_the_flags(monkeypatch):
    seen = {}

    @common(ACCESS, VARS, CHANGE, WATCH, LEASE)
    def go(name: str = "x", *, options):
        seen.update(name=name, options=options)

    monkeypatch.setenv("DEPLOYER_ENV", "staging")
    result = CliRunner().invoke(_app_with(go), ["go", "--name", "y", "--var", "a=1", "--var", "b=2", "-y", "--no-wait",
                                                "--lock-timeout", "30", "--region", "eu-west-1", "-o", "json"])
    assert result.exit_code == 0, result.output
    options = seen["options"]
    assert seen["name"] == "y"
    assert (options.vars, options.yes, options.no_wait, options.lock_timeout, options.region, options.output) == (
        ["a=1", "b=2"], True, True, 30, "eu-west-1", "json")
    assert (options.env, options.env_from_variable) == ("staging", True)
    assert (options.dry_run, options.wait_for_lock, options.no_lock, options.timeout) == (False, False, False, None)


def test_a_flag_left_out_is_not_accepted_and_does_not_reach_options(monkeypatch):
    seen = {}

    @common(ACCESS, without={"env": "this command names its environments itself"})
    def go(*, options):
        seen["options"] = options

    monkeypatch.setenv("DEPLOYER_ENV", "staging")
    tiny = _app_with(go)
    assert CliRunner().invoke(tiny, ["go", "--env", "prod"]).exit_code == 2
    assert CliRunner().invoke(tiny, ["go", "-c", "x.yaml"]).exit_code == 0
    assert seen["options"].env is None and seen["options"].config == "x.yaml"


def test_a_bad_common_flag_is_refused_before_the_body_runs():
    @common(ACCESS, WATCH)
    def go(*, options):
        raise AssertionError("the body ran")

    result = CliRunner().invoke(_app_with(go), ["go", "--region", "moon-1"])
    assert result.exit_code == 2 and "--region 'moon-1'" in result.output


def test_a_group_cannot_be_taken_half_by_accident():
    with pytest.raises(TypeError, match="needs a reason"):
        common(ACCESS, without={"env": " "})
    with pytest.raises(TypeError, match="not a flag of"):
        common(CHANGE, without={"env": "not in CHANGE"})
    with pytest.raises(TypeError, match="declares \\['yes'\\] itself"):
        @common(CHANGE)
        def go(yes: bool = False, *, options):
            pass
    with pytest.raises(TypeError, match="must take `options`"):
        @common(CHANGE)
        def go2():
            pass


def test_a_command_may_say_what_a_flag_means_for_it():
    @common(CHANGE, help={"yes": "Stop it without asking."})
    def go(*, options):
        pass

    result = CliRunner().invoke(_app_with(go), ["go", "--help"], env={"COLUMNS": "200"})
    assert "Stop it without asking." in result.output and "--dry-run" in result.output
