"""`deployer adopt`: hand a service over from the CloudFormation stack that owns it to deployer.

After AWS Proton's end of support, many ECS services still belong to a Proton *service* stack.
If deployer updates such a service, the stack drifts, and the stack's next update or deletion
reverts or deletes the service. The documented hand-over, as one command:

1. update the owning stack so the service, its task definition(s) and whatever refers to them
   get `DeletionPolicy: Retain` (and `UpdateReplacePolicy: Retain`): no resource changes;
2. remove them from the stack (their outputs too), or delete the stack when nothing else is in it:
   CloudFormation lets go of them and they keep running;
3. `deployer init` from the live service.

The plan is shown first, and nothing is written without a yes (--yes, or on a terminal). Each step
checks whether it is already done, so a re-run finishes an interrupted hand-over. The admins'
*environment* stack is never changed.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..aws import cloudformation
from ..core.errors import BadInput
from ..onboard.ownership import describe_with_tags, find_owner

_RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


# ---------------------------------------------------------------------------------------
# Who owns the service


# ---------------------------------------------------------------------------------------
# Templates: CloudFormation YAML (short-form intrinsics) or JSON


class _CfnLoader:
    """yaml.SafeLoader that reads `!Ref X`, `!GetAtt A.B`, `!Sub …` as their long forms."""

    @staticmethod
    def load(text: str) -> dict:
        import yaml

        class Loader(yaml.SafeLoader):
            pass

        def intrinsic(loader, tag_suffix, node):
            if isinstance(node, yaml.ScalarNode):
                value = loader.construct_scalar(node)
            elif isinstance(node, yaml.SequenceNode):
                value = loader.construct_sequence(node, deep=True)
            else:
                value = loader.construct_mapping(node, deep=True)
            if tag_suffix == "Ref":
                return {"Ref": value}
            if tag_suffix == "Condition":
                return {"Condition": value}
            if tag_suffix == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
            return {f"Fn::{tag_suffix}": value}

        Loader.add_multi_constructor("!", intrinsic)
        return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass


def load_template(body: Any) -> dict:
    if isinstance(body, dict):
        return body
    text = str(body)
    try:
        return json.loads(text)
    except ValueError:
        return _CfnLoader.load(text)


def references(value: Any) -> set[str]:
    """Logical ids a template fragment refers to (Ref, GetAtt, ${X} in Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                target = item[0] if isinstance(item, list) and item else str(item).split(".", 1)[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                found |= {m.split(".", 1)[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", str(text))}
                if isinstance(item, list) and len(item) > 1:
                    found |= references(item[1])
            else:
                found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def _depends_on(resource: dict) -> set[str]:
    depends = resource.get("DependsOn") or []
    return set([depends] if isinstance(depends, str) else depends)


# ---------------------------------------------------------------------------------------
# The plan


@dataclass
class HandOver:
    stack: str
    template: dict
    handed_over: list[str]  # logical ids retained and removed from the stack
    outputs_removed: list[str]
    delete_stack: bool
    retained_already: bool
    still_used: list[str] = field(default_factory=list)  # stack resources the service keeps using

    def steps(self) -> list[str]:
        resources = self.template.get("Resources", {})
        named = ", ".join(f"{r} ({resources[r].get('Type')})" for r in self.handed_over)
        steps = []
        if self.retained_already:
            steps.append(f"stack {self.stack}: {named} already have DeletionPolicy Retain")
        else:
            steps.append(f"update stack {self.stack}: DeletionPolicy and UpdateReplacePolicy Retain on {named} (no resource changes)")
        if self.delete_stack:
            steps.append(f"delete stack {self.stack}: nothing else is in it; the retained resources stay")
        else:
            removed = f"remove {', '.join(self.handed_over)} from stack {self.stack}"
            if self.outputs_removed:
                removed += f" (and the outputs that name them: {', '.join(self.outputs_removed)})"
            steps.append(removed + "; they stay in the account")
        return steps


def plan_hand_over(template: dict, owned: dict[str, str], stack: str) -> HandOver:
    resources = template.get("Resources") or {}
    start = set(owned)
    service_ids = [r for r in start if resources.get(r, {}).get("Type") == "AWS::ECS::Service"]
    for sid in service_ids:  # the task definitions the service is declared with
        start |= {r for r in references(resources[sid].get("Properties", {})) if resources.get(r, {}).get("Type") == "AWS::ECS::TaskDefinition"}
    handed = set(start)
    changed = True
    while changed:  # and whatever refers to them (an autoscaling target, say): it would dangle otherwise
        changed = False
        for name, resource in resources.items():
            if name not in handed and (references(resource) | _depends_on(resource)) & handed:
                handed.add(name)
                changed = True
    ordered = [r for r in resources if r in handed]
    outputs = [name for name, out in (template.get("Outputs") or {}).items() if references(out) & handed]
    still_used = sorted(set().union(*(references(resources[r]) for r in ordered)) & (set(resources) - handed))
    retained = all(resources[r].get("DeletionPolicy") == "Retain" and resources[r].get("UpdateReplacePolicy", "Retain") == "Retain" for r in ordered)
    return HandOver(stack, template, ordered, outputs, delete_stack=handed >= set(resources), retained_already=retained, still_used=still_used)


def retained_template(hand_over: HandOver) -> dict:
    template = json.loads(json.dumps(hand_over.template))
    for name in hand_over.handed_over:
        template["Resources"][name].update(_RETAIN)
    return template


def template_without(hand_over: HandOver) -> dict:
    template = retained_template(hand_over)
    for name in hand_over.handed_over:
        del template["Resources"][name]
    for name in hand_over.outputs_removed:
        del template["Outputs"][name]
    if "Outputs" in template and not template["Outputs"]:
        del template["Outputs"]
    return template


# ---------------------------------------------------------------------------------------
# The command


def adopt(run, *, cluster: str, service: str, stack: str | None, proton: str | None, directory: str, overwrite: bool) -> dict:
    from ..onboard import importing
    from ..onboard import generate

    if bool(stack) == bool(proton):
        raise BadInput("adopt: pass exactly one of --stack STACK (the admins' environment stack) or --proton ENV")
    aws, _ = importing._adapters(run)
    live = describe_with_tags(aws, cluster, service)
    if live is None:
        raise BadInput(f"adopt: service `{service}` not found (or INACTIVE) in cluster `{cluster}`")
    environment_stack = stack or _proton_stack(aws, proton)
    owner = find_owner(aws, live)
    result: dict[str, Any] = {"cluster": cluster, "service": service, "stack": owner.stack if owner else None, "steps": [], "done": []}
    if owner is not None:
        if environment_stack and owner.stack == environment_stack:
            raise BadInput(
                f"adopt: service {service} belongs to {owner.stack}, the admins' environment stack; deployer never changes that stack",
                hint="ask the platform admins to move the service out of the environment stack",
            )
        hand_over = plan_hand_over(load_template(cloudformation.template_body(aws, owner.stack)), owner.resources, owner.stack)
        result["steps"] = hand_over.steps()
        result["handed_over"] = hand_over.handed_over
        run.console.step(f"{service} belongs to CloudFormation stack {owner.stack} (found by its {owner.how}); the hand-over:")
        for n, step in enumerate(hand_over.steps(), 1):
            run.console.info(f"  {n}. {step}")
        run.console.info(f"  {len(hand_over.steps()) + 1}. deployer init: write deployer.yaml and the templates in {directory} from the live service")
        if hand_over.still_used:
            run.console.warn(f"the service keeps using {', '.join(hand_over.still_used)} from stack {owner.stack}; the stack keeps them, so do not delete it")
        if run.options.dry_run:
            result["status"] = "planned"
            return result
        _ask(run, f"Hand {service} over from stack {owner.stack} to deployer?")
        timeout = run.options.timeout or 600
        if not hand_over.retained_already:
            cloudformation.update_stack(aws, owner.stack, retained_template(hand_over), timeout)
            result["done"].append("retained")
            run.console.ok(f"stack {owner.stack}: {', '.join(hand_over.handed_over)} retained")
        if hand_over.delete_stack:
            cloudformation.delete_stack(aws, owner.stack, timeout)
            result["done"].append("stack deleted")
            run.console.ok(f"stack {owner.stack} deleted; {service} keeps running")
        else:
            cloudformation.update_stack(aws, owner.stack, template_without(hand_over), timeout)
            result["done"].append("removed from stack")
            run.console.ok(f"stack {owner.stack} no longer has {', '.join(hand_over.handed_over)}; {service} keeps running")
    else:
        run.console.info(f"no CloudFormation stack owns {service}: nothing to hand over")
        if run.options.dry_run:
            result["status"] = "planned"
            return result
    if (Path(directory) / generate.CONFIG_FILE).exists() and not overwrite:
        run.console.info(f"{Path(directory) / generate.CONFIG_FILE} already exists: init skipped (--overwrite writes it again)")
        result["init"] = None
    else:
        result["init"] = importing.init(run, cluster=cluster, service=service, stack=stack, proton=proton, directory=directory, overwrite=overwrite)
    result["status"] = "adopted" if owner else "not owned"
    return result


def text(run, result: dict) -> str:
    lines = []
    if result.get("status") == "planned":
        return "planned (--dry-run): nothing was changed"
    if result.get("stack"):
        lines.append(f"{result['service']} handed over from stack {result['stack']}: {', '.join(result['done']) or 'already done'}")
    if result.get("init"):
        from ..onboard import importing

        lines.append(importing.text(run, result["init"]))
    return "\n".join(lines)


def _ask(run, question: str) -> None:
    """A stack change is not for a shell without a terminal to ask on: that needs --yes."""
    if not run.options.yes and not sys.stdin.isatty():
        raise BadInput("adopt changes the stack shown above; pass --yes to go ahead (nothing was changed)")
    run.confirm(question)


def _proton_stack(aws, proton: str) -> str | None:
    from ..aws.cloudformation import find_proton_stack

    try:
        return find_proton_stack(aws, proton)
    except BadInput:
        return None  # init says what is wrong with the environment
