"""Scheduled tasks that move with the service (issue 21): `schedules:` in deployer.yaml, end to end with
the real `deployer` command against the local AWS (EventBridge Scheduler and rules served by moto)."""

from __future__ import annotations

import json

from tests.conftest import ecs_state
from tests.e2e.test_e2e_deploy import deploy, service

SCHEDULES = """
schedules:
  nightly-report:
    expression: cron(0 3 * * ? *)
    timezone: Europe/Paris
    command: ["python", "report.py"]
"""


def with_schedules(app, text: str = SCHEDULES) -> None:
    path = app.path / "deployer.yaml"
    path.write_text(path.read_text() + text)


def schedule(aws, name="web-nightly-report") -> dict | None:
    client = aws.client("scheduler")
    try:
        return client.get_schedule(Name=name)
    except client.exceptions.ResourceNotFoundException:
        return None


def revision_of(found: dict) -> str:
    return found["Target"]["EcsParameters"]["TaskDefinitionArn"].rsplit("/", 1)[-1]


def test_a_release_creates_the_schedule_on_the_new_revision_and_the_next_release_moves_it(app, aws, platform):
    with_schedules(app)
    first = deploy(app, platform, "v1")
    assert first.code == 0, first.stderr
    created = schedule(aws)
    assert revision_of(created) == "web:1"
    assert "schedule web-nightly-report: created (cron(0 3 * * ? *)) on web:1" in first.stderr
    assert created["ScheduleExpression"] == "cron(0 3 * * ? *)" and created["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert created["Description"] == "managed by deployer: web" and created["State"] == "ENABLED"
    target = created["Target"]
    live = service(aws, platform)
    assert target["Arn"] == live["clusterArn"] and target["RoleArn"] == platform["outputs"]["SchedulerRoleArn"]
    assert json.loads(target["Input"]) == {"containerOverrides": [{"name": "app", "command": ["python", "report.py"]}]}
    ecs = target["EcsParameters"]
    assert ecs["LaunchType"] == "FARGATE"
    vpc = ecs["NetworkConfiguration"]["awsvpcConfiguration"]
    live_vpc = live["networkConfiguration"]["awsvpcConfiguration"]
    assert sorted(vpc["Subnets"]) == sorted(live_vpc["subnets"]) and vpc["SecurityGroups"] == live_vpc["securityGroups"]
    assert vpc["AssignPublicIp"] == live_vpc.get("assignPublicIp", "DISABLED")
    assert first.json["schedules"] == [{"name": "web-nightly-report", "action": "create", "service": "web", "expression": "cron(0 3 * * ? *)",
                                        "task_definition": live["taskDefinition"], "previous_task_definition": None, "changed": []}]

    second = deploy(app, platform, "v2")
    assert second.code == 0, second.stderr
    assert revision_of(schedule(aws)) == "web:2"
    assert "schedule web-nightly-report: moved web:1 → web:2" in second.stderr

    again = deploy(app, platform, "v2")  # already deployed: the schedule is where it should be
    assert again.code == 0 and again.json["status"] == "unchanged"
    assert again.json["schedules"][0]["action"] == "none"


def test_a_failed_release_leaves_the_schedule_on_the_revision_the_service_goes_back_to(app, aws, platform):
    with_schedules(app)
    assert deploy(app, platform, "v1").code == 0
    aws.mark_broken("*:broken")
    failed = deploy(app, platform, "broken")
    assert failed.code == 1, failed.stderr
    assert failed.json["status"] == "rolled_back"
    back_on = service(aws, platform)["taskDefinition"].rsplit("/", 1)[-1]
    assert back_on == "web:1"
    assert revision_of(schedule(aws)) == back_on
    assert "schedules not moved after a failed release" in failed.stderr
    assert failed.json["schedules"] == []


def test_a_schedule_removed_from_the_config_is_deleted_and_a_hand_made_one_is_left_alone(app, aws, platform):
    with_schedules(app, SCHEDULES + """  cleanup:
    expression: rate(1 hour)
    command: ["python", "cleanup.py"]
""")
    assert deploy(app, platform, "v1").code == 0
    assert schedule(aws, "web-cleanup") is not None
    # Someone's own schedule with the app's prefix, without deployer's marker.
    hand_made = schedule(aws, "web-cleanup")
    aws.client("scheduler").create_schedule(Name="web-by-hand", ScheduleExpression="rate(1 day)", FlexibleTimeWindow={"Mode": "OFF"},
                                            Target={k: hand_made["Target"][k] for k in ("Arn", "RoleArn", "EcsParameters")})
    path = app.path / "deployer.yaml"
    path.write_text(path.read_text().replace("""  cleanup:
    expression: rate(1 hour)
    command: ["python", "cleanup.py"]
""", ""))
    result = deploy(app, platform, "v1")
    assert result.code == 0, result.stderr
    assert schedule(aws, "web-cleanup") is None and schedule(aws, "web-nightly-report") is not None
    assert schedule(aws, "web-by-hand") is not None
    assert "schedule web-cleanup: deleted (no longer in deployer.yaml)" in result.stderr
    assert [c["action"] for c in result.json["schedules"]] == ["none", "delete"]


def test_dry_run_and_diff_show_the_schedule_changes_and_write_nothing(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    with_schedules(app)
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    planned = deploy(app, platform, "v2", "--dry-run")
    assert planned.code == 0, planned.stderr
    assert "schedule web-nightly-report: create (cron(0 3 * * ? *)) on <the revision this release registers>" in planned.stderr
    assert planned.json["schedules"][0]["action"] == "create"
    shown = app.cli("diff", "--exit-code")
    assert shown.code == 1, shown.stderr
    assert "schedule web-nightly-report: create (cron(0 3 * * ? *)) on web:1" in shown.stdout
    assert schedule(aws) is None and ecs_state(aws, platform["outputs"]["ClusterName"]) == before

    assert deploy(app, platform, "v1").code == 0  # unchanged service: the schedule is created on web:1
    assert revision_of(schedule(aws)) == "web:1"
    app.edit("deployer.yaml", "cron(0 3 * * ? *)", "rate(6 hours)")
    changed = app.cli("diff", "--output", "json")
    assert changed.code == 0, changed.stderr
    assert changed.json["schedules"][0]["action"] == "update" and changed.json["schedules"][0]["changed"] == ["expression"]
    assert schedule(aws)["ScheduleExpression"] == "cron(0 3 * * ? *)"


def test_a_bad_expression_is_bad_input_naming_the_line(app, aws, platform):
    with_schedules(app, SCHEDULES.replace("cron(0 3 * * ? *)", "cron(0 3 * * *)"))
    lines = (app.path / "deployer.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "cron(0 3 * * *)" in text)
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    result = deploy(app, platform, "v1")
    assert result.code == 2
    assert f"deployer.yaml:{line}: `schedules.nightly-report.expression` 'cron(0 3 * * *)': a cron expression has six fields" in result.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before and schedule(aws) is None


def test_an_unknown_key_and_a_missing_scheduler_role_are_bad_input(app, aws, platform):
    with_schedules(app, SCHEDULES + "    cmd: [x]\n")
    unknown = deploy(app, platform, "v1")
    assert unknown.code == 2 and "`schedules.nightly-report.cmd` is not a known key; did you mean `schedules.nightly-report.command`?" in unknown.stderr

    app.edit("deployer.yaml", "    cmd: [x]\n", "")
    app.edit("deployer.yaml", "    repository: EcrRepositoryUri\n", "    repository: EcrRepositoryUri\n    scheduler_role: NoSuchOutput\n")
    line = next(i for i, text in enumerate((app.path / "deployer.yaml").read_text().splitlines(), 1) if text == "schedules:")
    missing = deploy(app, platform, "v1")
    assert missing.code == 2, missing.stderr
    assert f"deployer.yaml:{line}: `schedules` needs the role EventBridge Scheduler assumes to run the tasks: output `NoSuchOutput` not found" in missing.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"])["task_definitions"] == [] and schedule(aws) is None


def test_verify_checks_the_scheduler_role(app, aws, platform):
    with_schedules(app)
    result = app.cli("verify", "--output", "json")
    found = [c for c in result.json["checks"] if c["name"] == "scheduler role"]
    assert found and found[0]["status"] == "pass", result.stdout
    assert "trusts scheduler.amazonaws.com" in found[0]["reason"]


def test_prune_keeps_what_an_outside_rule_and_a_hand_made_schedule_run(app, aws, platform, enforce):
    for tag in ("v1", "v2", "v3", "v4", "v5"):
        assert deploy(app, platform, tag).code == 0
    arns = {int(a.rsplit(":", 1)[-1]): a for a in aws.client("ecs").list_task_definitions(familyPrefix="web")["taskDefinitionArns"]}
    cluster_arn = service(aws, platform)["clusterArn"]
    role = platform["outputs"]["SchedulerRoleArn"]
    # Someone else's EventBridge rule runs web:1; a schedule made by hand runs web:2 (not deployer's: any name).
    events = aws.client("events")
    events.put_rule(Name="billing-export", ScheduleExpression="rate(1 day)")
    events.put_targets(Rule="billing-export", Targets=[{"Id": "1", "Arn": cluster_arn, "RoleArn": role,
                                                         "EcsParameters": {"TaskDefinitionArn": arns[1], "TaskCount": 1}}])
    aws.client("scheduler").create_schedule(Name="ops-cleanup", ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"},
                                            Target={"Arn": cluster_arn, "RoleArn": role, "EcsParameters": {"TaskDefinitionArn": arns[2]}})
    from tests.e2e.test_e2e_security import assert_within, policy_for

    prune = policy_for(app, "prune")
    enforce(prune)
    result = app.cli("revisions", "--prune", "--keep", "1", "--yes")
    assert result.code == 0, result.stderr
    assert "kept web:1: used by EventBridge rule billing-export" in result.stdout
    assert "kept web:2: used by schedule ops-cleanup" in result.stdout
    assert {"events:ListRules", "events:ListTargetsByRule", "scheduler:ListSchedules", "scheduler:GetSchedule"} <= assert_within(aws, prune)
    active = aws.client("ecs").list_task_definitions(familyPrefix="web", status="ACTIVE")["taskDefinitionArns"]
    assert sorted(int(a.rsplit(":", 1)[-1]) for a in active) == [1, 2, 4, 5]


def test_a_family_without_revision_keeps_the_newest_active_revision(app, aws, platform):
    for tag in ("v1", "v2", "v3"):
        assert deploy(app, platform, tag).code == 0
    aws.mark_broken("*:broken")
    assert deploy(app, platform, "broken").code == 1  # web:4 registered, failed, rolled back to web:3
    events = aws.client("events")
    events.put_rule(Name="latest-web", ScheduleExpression="rate(1 day)")
    family_arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web"
    events.put_targets(Rule="latest-web", Targets=[{"Id": "1", "Arn": service(aws, platform)["clusterArn"],
                                                     "EcsParameters": {"TaskDefinitionArn": family_arn}}])
    result = app.cli("revisions", "--prune", "--keep", "1", "--yes", "--dry-run")
    assert result.code == 0, result.stderr
    assert "kept web:4: used by EventBridge rule latest-web" in result.stdout


def test_the_release_policy_covers_the_schedules(app, aws, platform, enforce):
    from tests.e2e.test_e2e_security import assert_within, policy_for

    with_schedules(app)
    release = policy_for(app, "release")
    by_sid = {s["Sid"]: s for s in release["Statement"]}
    assert by_sid["AppSchedules"]["Resource"] == "arn:aws:scheduler:us-east-1:123456789012:schedule/default/web-*"
    assert by_sid["PassSchedulerRole"]["Resource"] == platform["outputs"]["SchedulerRoleArn"]
    enforce(release)
    for tag in ("v1", "v2"):
        assert deploy(app, platform, tag).code == 0
    assert app.cli("verify").code == 0
    path = app.path / "deployer.yaml"
    path.write_text(path.read_text().split("\nschedules:")[0] + "\n")
    assert deploy(app, platform, "v2").code == 0 and schedule(aws) is None
    called = assert_within(aws, release)
    assert {"scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule", "iam:PassRole"} <= called


def test_a_schedule_with_its_own_template_gets_its_own_revision_with_the_service_image(app, aws, platform):
    template = (app.path / "ecs-task-def.json.j2").read_text().replace('"memory": "512"', '"memory": "1024"')
    (app.path / "report-task-def.json.j2").write_text(template)
    with_schedules(app, SCHEDULES + "    task_definition: report-task-def.json.j2\n")
    first = deploy(app, platform, "v1")
    assert first.code == 0, first.stderr
    assert "schedule web-nightly-report: registered web-nightly-report:1 from report-task-def.json.j2" in first.stderr
    assert revision_of(schedule(aws)) == "web-nightly-report:1"
    ecs = aws.client("ecs")
    own = ecs.describe_task_definition(taskDefinition="web-nightly-report:1")["taskDefinition"]
    runs = ecs.describe_task_definition(taskDefinition="web:1")["taskDefinition"]
    assert own["memory"] == "1024" and own["containerDefinitions"][0]["image"] == runs["containerDefinitions"][0]["image"]

    again = deploy(app, platform, "v1")
    assert again.code == 0 and again.json["schedules"][0]["action"] == "none"
    assert ecs.list_task_definitions(familyPrefix="web-nightly-report")["taskDefinitionArns"] == [own["taskDefinitionArn"]]
    moved = deploy(app, platform, "v2")
    assert moved.code == 0, moved.stderr
    assert revision_of(schedule(aws)) == "web-nightly-report:2"
    assert ecs.describe_task_definition(taskDefinition="web-nightly-report:2")["taskDefinition"]["containerDefinitions"][0]["image"].endswith(":v2")


def test_rollback_and_wait_take_the_schedules_with_the_service(app, aws, platform):
    with_schedules(app)
    assert deploy(app, platform, "v1").code == 0
    started = deploy(app, platform, "v2", "--no-wait")
    assert started.code == 0 and "schedules not moved without a verdict (--no-wait)" in started.stderr
    assert revision_of(schedule(aws)) == "web:1"
    waited = app.cli("wait", "--output", "json")
    assert waited.code == 0, waited.stderr
    assert revision_of(schedule(aws)) == "web:2" and "schedule web-nightly-report: moved web:1 → web:2" in waited.stderr
    back = app.cli("rollback", "--yes", "--output", "json")
    assert back.code == 0, back.stderr
    assert service(aws, platform)["taskDefinition"].endswith("web:1") and revision_of(schedule(aws)) == "web:1"
    assert back.json["schedules"][0]["action"] == "update" and "schedule web-nightly-report: moved web:2 → web:1" in back.stderr


def test_the_release_policy_tags_the_family_of_a_schedule_with_its_own_template(app, aws, platform):
    from tests.e2e.test_e2e_security import policy_for

    (app.path / "report-task-def.json.j2").write_text((app.path / "ecs-task-def.json.j2").read_text())
    with_schedules(app, SCHEDULES + "    task_definition: report-task-def.json.j2\n")
    by_sid = {s["Sid"]: s for s in policy_for(app, "release")["Statement"]}
    assert "arn:aws:ecs:us-east-1:123456789012:task-definition/web-nightly-report:*" in by_sid["EcsTagRevisions"]["Resource"]
    assert platform["outputs"]["TaskRoleArn"] in by_sid["PassTaskRoles"]["Resource"]


def test_a_configured_name_taken_by_a_hand_made_schedule_is_bad_input_before_any_write(app, aws, platform):
    assert deploy(app, platform, "v1").code == 0
    cluster_arn = service(aws, platform)["clusterArn"]
    aws.client("scheduler").create_schedule(Name="web-nightly-report", ScheduleExpression="rate(1 day)", FlexibleTimeWindow={"Mode": "OFF"},
                                            Target={"Arn": cluster_arn, "RoleArn": platform["outputs"]["SchedulerRoleArn"],
                                                    "EcsParameters": {"TaskDefinitionArn": "web:1"}})
    with_schedules(app)
    before = ecs_state(aws, platform["outputs"]["ClusterName"])
    result = deploy(app, platform, "v2")
    assert result.code == 2, result.stderr
    assert "`schedules.nightly-report`: a schedule web-nightly-report exists that deployer did not create" in result.stderr
    assert ecs_state(aws, platform["outputs"]["ClusterName"]) == before
    assert schedule(aws)["ScheduleExpression"] == "rate(1 day)"


def test_release_plans_the_schedules_and_refuses_a_missing_role_before_the_build(app, aws, platform):
    with_schedules(app)
    planned = app.cli("release", "--dry-run", "--output", "json")
    assert planned.code == 0, planned.stderr
    assert planned.json["schedules"][0]["action"] == "create" and schedule(aws) is None
    app.edit("deployer.yaml", "    repository: EcrRepositoryUri\n", "    repository: EcrRepositoryUri\n    scheduler_role: NoSuchOutput\n")
    refused = app.cli("release")
    assert refused.code == 2, refused.stderr
    assert "output `NoSuchOutput` not found" in refused.stderr and "image " not in refused.stderr  # no build started
    assert aws.client("ecr").describe_images(repositoryName=platform["outputs"]["EcrRepositoryUri"].split("/", 1)[1])["imageDetails"] == []
