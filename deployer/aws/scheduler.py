"""EventBridge Scheduler and EventBridge rules: the app's schedules (read and write), and the task
definitions every schedule and rule in the account and region runs (read only, for prune).

Plain data back; "not found" is None; other errors are ExternalError saying what was being done.
"""

from __future__ import annotations

from .session import error_code, translate_errors

DEFAULT_GROUP = "default"


class Scheduler:
    def __init__(self, aws):
        self.aws = aws

    @property
    def client(self):
        return self.aws.client("scheduler")

    def names(self, prefix: str | None = None, group: str = DEFAULT_GROUP) -> list[str]:
        """The names of the schedules in the group (those starting with `prefix`)."""
        names: list[str] = []
        kwargs: dict = {"GroupName": group}
        if prefix:
            kwargs["NamePrefix"] = prefix
        with translate_errors("listing the EventBridge Scheduler schedules"):
            while True:
                page = self.client.list_schedules(**kwargs)
                names.extend(s["Name"] for s in page.get("Schedules", []))
                if not page.get("NextToken"):
                    return names
                kwargs["NextToken"] = page["NextToken"]

    def all_schedules(self) -> list[tuple[str, str]]:
        """(group, name) of every schedule in the account and region."""
        found: list[tuple[str, str]] = []
        kwargs: dict = {}
        with translate_errors("listing the EventBridge Scheduler schedules"):
            while True:
                page = self.client.list_schedules(**kwargs)
                found.extend((s.get("GroupName") or DEFAULT_GROUP, s["Name"]) for s in page.get("Schedules", []))
                if not page.get("NextToken"):
                    return found
                kwargs["NextToken"] = page["NextToken"]

    def get(self, name: str, group: str = DEFAULT_GROUP) -> dict | None:
        """GetSchedule; None when there is no such schedule."""
        from botocore.exceptions import ClientError

        with translate_errors(f"reading schedule {name}"):
            try:
                return self.client.get_schedule(Name=name, GroupName=group)
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    return None
                raise

    def create(self, params: dict) -> None:
        with translate_errors(f"creating schedule {params.get('Name')}"):
            self.client.create_schedule(**params)

    def update(self, params: dict) -> None:
        with translate_errors(f"updating schedule {params.get('Name')}"):
            self.client.update_schedule(**params)

    def delete(self, name: str, group: str = DEFAULT_GROUP) -> None:
        from botocore.exceptions import ClientError

        with translate_errors(f"deleting schedule {name}"):
            try:
                self.client.delete_schedule(Name=name, GroupName=group)
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":  # already gone: what was wanted
                    raise


def rule_task_definitions(aws) -> list[tuple[str, str]]:
    """(rule name, task definition ARN) of every ECS target of every EventBridge rule on every event bus."""
    client = aws.client("events")
    used: list[tuple[str, str]] = []
    with translate_errors("listing the EventBridge rules"):
        buses = [None]
        kwargs: dict = {}
        while True:
            page = client.list_event_buses(**kwargs)
            buses.extend(b["Name"] for b in page.get("EventBuses", []) if b.get("Name") != "default")
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        for bus in buses:
            kwargs = {"EventBusName": bus} if bus else {}
            while True:
                page = client.list_rules(**kwargs)
                for rule in page.get("Rules", []):
                    target_kwargs: dict = {"Rule": rule["Name"], **({"EventBusName": bus} if bus else {})}
                    while True:
                        targets = client.list_targets_by_rule(**target_kwargs)
                        for target in targets.get("Targets", []):
                            arn = (target.get("EcsParameters") or {}).get("TaskDefinitionArn")
                            if arn:
                                used.append((rule["Name"] if not bus else f"{bus}/{rule['Name']}", arn))
                        if not targets.get("NextToken"):
                            break
                        target_kwargs["NextToken"] = targets["NextToken"]
                if not page.get("NextToken"):
                    break
                kwargs["NextToken"] = page["NextToken"]
    return used


def schedule_task_definitions(aws) -> list[tuple[str, str]]:
    """(schedule name, task definition ARN) of every Scheduler schedule with an ECS target."""
    scheduler = Scheduler(aws)
    used: list[tuple[str, str]] = []
    for group, name in scheduler.all_schedules():
        schedule = scheduler.get(name, group) or {}
        arn = ((schedule.get("Target") or {}).get("EcsParameters") or {}).get("TaskDefinitionArn")
        if arn:
            used.append((name if group == DEFAULT_GROUP else f"{group}/{name}", arn))
    return used
