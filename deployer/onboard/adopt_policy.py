"""The IAM policy of `deployer adopt` (`deployer iam-policy --for adopt`): exactly what adopt calls.

`deployer adopt --cluster C --service S --stack E|--proton E` (commands/adopt.py, then init and its diff)
reads the service and its revision, the environment's outputs and the stacks (to find the owner), and
writes only to the stack that owns the service (found now, by its tag or by a scan): UpdateStack
(Retain, then without the service) or DeleteStack. `adopt_inputs` reads the live account (the
environment's stack, the service, its owner); `adopt_policy` builds the document from those plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import BadInput
from ..aws.session import partition_of


@dataclass(frozen=True)
class AdoptPolicyInputs:
    account: str
    region: str
    cluster: str  # the cluster's name (or ARN: its last part is the name)
    service: str
    environment_stack: str  # the stack the environment's outputs are read from (--stack, or the one Proton left)
    owner_stack: str | None = None  # the stack that owns the service now (None: no stack owns it)
    partition: str = field(default="")  # default: the region's

    def __post_init__(self):
        if not self.partition:
            object.__setattr__(self, "partition", partition_of(self.region))

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"


def adopt_inputs(run, *, cluster: str | None = None, service: str | None = None, stack: str | None = None, proton: str | None = None) -> AdoptPolicyInputs:
    """The flags checked as `deployer adopt` checks them, then the live reads: the account, the stack Proton
    left (--proton), the service (it must exist) and the stack that owns it."""
    from ..aws.cloudformation import find_proton_stack
    from . import importing, ownership

    missing = [flag for flag, value in (("--cluster", cluster), ("--service", service)) if not value]
    if missing or bool(stack) == bool(proton):
        raise BadInput("iam-policy --for adopt: pass --cluster, --service and exactly one of --stack or --proton, as for `deployer adopt`"
                       + (f" (missing {missing[0]})" if missing else ""))
    aws, _ = importing._adapters(run)
    region, account = aws.region, aws.account_id()
    environment_stack = stack or find_proton_stack(aws, proton)
    live = ownership.describe_with_tags(aws, cluster, service)
    if live is None:
        raise BadInput(f"iam-policy --for adopt: service `{service}` not found (or INACTIVE) in cluster `{cluster}`")
    owner = ownership.find_owner(aws, live)
    if owner is None:
        run.console.warn(f"no CloudFormation stack owns {service} now: the policy has no stack writes (adopt only runs init)")
    return AdoptPolicyInputs(account=account, region=region, cluster=cluster, service=service, environment_stack=environment_stack,
                             owner_stack=owner.stack if owner is not None else None)


def adopt_policy(inputs: AdoptPolicyInputs) -> dict:
    """Reads of the service and its revision, of the environment's outputs, of the stacks (to find the
    owner); writes only to the stack that owns the service, when one does."""
    arn = inputs.arn
    cluster_name = inputs.cluster.rsplit("/", 1)[-1]
    statements = [
        {"Sid": "EnvironmentOutputs", "Effect": "Allow", "Action": ["cloudformation:DescribeStacks"], "Resource": arn("cloudformation", f"stack/{inputs.environment_stack}/*")},
    ]
    statements += [
        # Which stack owns the service: the one its aws:cloudformation:stack-name tag names, else a scan of the stacks' resources.
        {"Sid": "FindOwningStack", "Effect": "Allow", "Action": ["cloudformation:ListStacks", "cloudformation:ListStackResources"], "Resource": "*"},
        {"Sid": "EcsService", "Effect": "Allow", "Action": ["ecs:DescribeServices"], "Resource": arn("ecs", f"service/{cluster_name}/{inputs.service}")},
        # DescribeTaskDefinition and DescribeScalableTargets have no resource-level permissions.
        {"Sid": "EcsRevision", "Effect": "Allow", "Action": ["ecs:DescribeTaskDefinition"], "Resource": "*"},
        {"Sid": "Autoscaling", "Effect": "Allow", "Action": ["application-autoscaling:DescribeScalableTargets"], "Resource": "*"},
        # The check after writing the files is `deployer diff`, which lists the app's schedules (none yet).
        {"Sid": "AppSchedules", "Effect": "Allow", "Action": ["scheduler:ListSchedules"], "Resource": "*"},
    ]
    if inputs.owner_stack is not None:
        # The hand-over: the owning stack only (never the environment's: adopt refuses that).
        statements.append({"Sid": "HandOverFromOwningStack", "Effect": "Allow",
                           "Action": ["cloudformation:DeleteStack", "cloudformation:DescribeStacks", "cloudformation:GetTemplate", "cloudformation:UpdateStack"],
                           "Resource": arn("cloudformation", f"stack/{inputs.owner_stack}/*")})
    return {"Version": "2012-10-17", "Statement": statements}
