"""Can an environment's account pull the image from a repository in another account? Pure logic.

The Proton model keeps the ECR repository in a management account and each environment in its own
account; the repository policy grants the environments pull. Before anything is written in an
environment, `deployer` reads that policy (ECR GetRepositoryPolicy, the caller's) and decides here
whether the environment's account — or the task execution role that pulls for Fargate — is granted

    ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability

Evaluation (what a resource policy can decide; the pulling role's own IAM policy is the
environment's business and not read here):

- a statement applies when its Principal covers the environment (`"*"`, `{"AWS": "*"}`, the account
  id, `arn:aws:iam::<account>:root`, or the execution role's ARN), its Action / NotAction covers
  the action (wildcards `ecr:*`, `ecr:Batch*`, `*`, case-insensitive), and its Resource (usually
  absent in a repository policy) covers the repository;
- an explicit Deny wins over any Allow; no Allow means missing;
- a statement with a Condition, or with NotPrincipal, is not evaluated (the request context —
  organisation, source VPC, time — is not known here): an Allow under a condition does not count
  as a grant and a Deny under a condition does not count as a denial; either makes the action
  "cannot be proven", a warning, never a refusal on its own.

Same account: no check (the account's own IAM decides).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..aws.session import partition_of
from ..core.errors import BadInput

PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")

_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):ecr:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):repository/(?P<name>[a-z0-9][a-z0-9._/-]*)$")
_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<name>[a-z0-9][a-z0-9._/-]*?)(?::[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})?$"
)
_ACCOUNT = re.compile(r"^\d{12}$")
_IAM_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):(?P<rest>.+)$")


@dataclass(frozen=True)
class Repository:
    account: str
    region: str
    name: str
    partition: str = "aws"

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:ecr:{self.region}:{self.account}:repository/{self.name}"

    @property
    def uri(self) -> str:
        suffix = ".cn" if self.partition == "aws-cn" else ""
        return f"{self.account}.dkr.ecr.{self.region}.amazonaws.com{suffix}/{self.name}"

    def __str__(self) -> str:
        return self.uri


def parse_repository(reference: str) -> Repository:
    """An ECR repository ARN or URI (a `:tag` or `@sha256:` suffix is allowed) → Repository."""
    text = (reference or "").strip()
    m = _ARN.match(text)
    if m:
        return Repository(m["account"], m["region"], m["name"], m["partition"])
    m = _URI.match(text)
    if m:
        # The region names the partition (a GovCloud registry's host ends in amazonaws.com like a commercial one).
        return Repository(m["account"], m["region"], m["name"], partition_of(m["region"]))
    raise BadInput(f"{reference!r} is not an ECR repository ARN or URI (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME)")


@dataclass
class Access:
    """The answer for one repository and one environment."""

    repository: Repository
    account: str
    environment: str | None = None
    execution_role_arn: str | None = None
    cross_account: bool = True
    allowed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # no statement grants it
    denied: dict[str, list[str]] = field(default_factory=dict)  # action → Sids of the Deny statements
    unproven: dict[str, list[str]] = field(default_factory=dict)  # action → Sids of the conditional statements
    warnings: list[str] = field(default_factory=list)
    policy: dict | None = None  # the parsed repository policy
    has_policy: bool = True  # False: GetRepositoryPolicy found none

    @property
    def ok(self) -> bool:
        """Nothing is missing or denied (an unproven action is a warning, not a refusal)."""
        return not self.missing and not self.denied

    @property
    def blocked(self) -> list[str]:
        return [a for a in PULL_ACTIONS if a in self.missing or a in self.denied]

    def statement(self) -> dict:
        """The statement to add to the repository policy."""
        return pull_statement(self.account, self.environment)

    def suggested_policy(self) -> dict:
        """The repository policy with the statement added (the whole document to set)."""
        doc = json.loads(json.dumps(self.policy)) if isinstance(self.policy, dict) else {"Version": "2012-10-17"}
        statements = doc.get("Statement")
        statements = [statements] if isinstance(statements, dict) else list(statements or [])
        sid = self.statement()["Sid"]
        statements = [s for s in statements if not (isinstance(s, dict) and s.get("Sid") == sid)]
        doc["Statement"] = statements + [self.statement()]
        doc.setdefault("Version", "2012-10-17")
        return doc

    def message(self) -> str:
        """The exit-2 message: the repository, the account, the missing actions and the statement to add."""
        who = f"account {self.account}" + (f" (environment {self.environment})" if self.environment else "")
        lines = [f"the image repository {self.repository.uri} (account {self.repository.account}) does not let {who} pull the image:"]
        missing = [a for a in PULL_ACTIONS if a in self.missing]
        if missing and not self.has_policy:
            lines.append(f"  the repository has no policy, so no other account may pull: {', '.join(missing)} missing")
        elif missing:
            lines.append(f"  not granted by its repository policy: {', '.join(missing)}")
        for action in PULL_ACTIONS:
            if action in self.denied:
                sids = ", ".join(self.denied[action])
                lines.append(f"  denied explicitly by statement {sids}: {action}")
        if self.denied:
            lines.append(f"remove or narrow the Deny statement{'s' if len({s for v in self.denied.values() for s in v}) > 1 else ''} above (a Deny wins over any Allow), then")
        if missing or self.denied:
            lines.append(f"add this statement to the repository policy of {self.repository.name} in account {self.repository.account}:")
            lines.append(_indent(json.dumps(self.statement(), indent=2)))
        return "\n".join(lines)

    def refusal(self) -> BadInput:
        return BadInput(
            self.message(),
            hint=(f"in account {self.repository.account}: aws ecr get-repository-policy --repository-name {self.repository.name} "
                  f"--region {self.repository.region}, add the statement, then aws ecr set-repository-policy (it replaces the whole "
                  "policy: keep the other statements); nothing was changed"),
        )


def pull_statement(account: str, environment: str | None = None) -> dict:
    return {
        "Sid": f"AllowPullFrom{_sid_part(environment or account)}",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": list(PULL_ACTIONS),
    }


def _sid_part(name: str) -> str:
    parts = re.split(r"[^A-Za-z0-9]+", name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p) or "Environment"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def pull_access(
    repository: Repository | str,
    account: str,
    policy_text: str | None,
    *,
    execution_role_arn: str | None = None,
    environment: str | None = None,
) -> Access:
    """Decide whether `account` (or `execution_role_arn`, the role that pulls) can pull from `repository`
    under `policy_text` (GetRepositoryPolicy's policyText; None when the repository has no policy)."""
    repo = parse_repository(repository) if isinstance(repository, str) else repository
    if not _ACCOUNT.match(str(account or "")):
        raise BadInput(f"{account!r} is not a 12-digit AWS account id")
    access = Access(repo, str(account), environment, execution_role_arn)
    if repo.account == access.account:
        access.cross_account = False
        access.allowed = list(PULL_ACTIONS)
        return access
    if execution_role_arn:
        m = _IAM_ARN.match(execution_role_arn)
        if not m or m["account"] != access.account:
            access.warnings.append(f"execution role {execution_role_arn} is not a role of account {access.account}; judged for the account alone")
            access.execution_role_arn = execution_role_arn = None

    if policy_text is None or not str(policy_text).strip():
        access.has_policy = False
        access.missing = list(PULL_ACTIONS)
        return access
    try:
        policy = json.loads(policy_text)
    except ValueError as exc:
        access.warnings.append(f"the repository policy of {repo.uri} is not JSON ({exc}); whether account {account} can pull cannot be proven")
        access.unproven = {a: ["(unreadable policy)"] for a in PULL_ACTIONS}
        return access
    access.policy = policy if isinstance(policy, dict) else None
    statements = policy.get("Statement") if isinstance(policy, dict) else None
    statements = [statements] if isinstance(statements, dict) else statements if isinstance(statements, list) else []

    role_only: set[str] = set()
    for action in PULL_ACTIONS:
        allow = deny = False
        cond_allow: list[str] = []
        cond_deny: list[str] = []
        deny_sids: list[str] = []
        for index, st in enumerate(statements):
            if not isinstance(st, dict):
                continue
            sid = str(st.get("Sid") or f"#{index + 1}")
            effect = st.get("Effect")
            if effect not in ("Allow", "Deny"):
                continue
            if not _action_applies(st, action) or not _resource_applies(st, repo):
                continue
            if "NotPrincipal" in st:
                (cond_allow if effect == "Allow" else cond_deny).append(sid)
                continue
            who = _principal_applies(st.get("Principal"), access.account, execution_role_arn)
            if who == "role-only":  # names other roles of the account (or roles, when the pulling role is unknown)
                if effect == "Allow":
                    role_only.update(_role_principals(st.get("Principal"), access.account))
                elif not execution_role_arn:
                    cond_deny.append(sid)  # it may deny the role that pulls
                continue
            if not who:
                continue
            if st.get("Condition"):
                (cond_allow if effect == "Allow" else cond_deny).append(sid)
            elif effect == "Deny":
                deny = True
                deny_sids.append(sid)
            else:
                allow = True
        if deny:
            access.denied[action] = deny_sids
        elif allow and not cond_deny:
            access.allowed.append(action)
        elif allow or cond_allow:
            access.unproven[action] = cond_deny + cond_allow if allow else cond_allow + cond_deny
        else:
            access.missing.append(action)

    for action, sids in access.unproven.items():
        access.warnings.append(
            f"{action}: statement{'s' if len(sids) > 1 else ''} {', '.join(sids)} of the repository policy of {repo.uri} "
            f"{'have' if len(sids) > 1 else 'has'} a Condition (or NotPrincipal) deployer cannot evaluate: "
            f"that account {account} can pull cannot be proven"
        )
    if role_only and (access.missing or access.unproven):
        access.warnings.append(
            f"the repository policy grants pull to {', '.join(sorted(role_only))} only"
            + ("" if execution_role_arn else "; deployer does not know which role pulls in this environment (the task execution role)")
        )
    return access


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _wildcard(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.IGNORECASE | re.DOTALL) is not None


def _action_applies(statement: dict, action: str) -> bool:
    if "NotAction" in statement:
        return not any(isinstance(p, str) and _wildcard(p, action) for p in _as_list(statement["NotAction"]))
    return any(isinstance(p, str) and _wildcard(p, action) for p in _as_list(statement.get("Action")))


def _resource_applies(statement: dict, repo: Repository) -> bool:
    if "NotResource" in statement:
        return not any(isinstance(p, str) and _wildcard(p, repo.arn) for p in _as_list(statement["NotResource"]))
    if "Resource" not in statement:
        return True  # a repository policy's statements apply to the repository
    return any(isinstance(p, str) and _wildcard(p, repo.arn) for p in _as_list(statement["Resource"]))


def _aws_principals(principal: Any) -> list[str] | None:
    """The AWS principals of a Principal element; None for "*" (everyone)."""
    if principal == "*":
        return None
    if isinstance(principal, dict):
        aws = _as_list(principal.get("AWS"))
        if "*" in aws:
            return None
        return [p for p in aws if isinstance(p, str)]
    return []


def _principal_applies(principal: Any, account: str, role_arn: str | None) -> bool | str:
    """True when the Principal covers the account (or the execution role); "role-only" when it names
    roles of the account but not the one known to pull (or none is known); else False."""
    principals = _aws_principals(principal)
    if principals is None:
        return True
    role_only = False
    for p in principals:
        if p == account:
            return True
        m = _IAM_ARN.match(p)
        if not m or m["account"] != account:
            continue
        rest = m["rest"]
        if rest == "root":
            return True
        if role_arn and rest.startswith("role/") and _same_role(p, role_arn):
            return True
        if rest.startswith("role/"):
            role_only = True
    return "role-only" if role_only else False


def _role_principals(principal: Any, account: str) -> list[str]:
    return [p for p in (_aws_principals(principal) or []) if (m := _IAM_ARN.match(p)) and m["account"] == account and m["rest"].startswith("role/")]


def _same_role(a: str, b: str) -> bool:
    """Role ARNs name the same role (the partition and the path do not matter to IAM's role name)."""
    ma, mb = _IAM_ARN.match(a), _IAM_ARN.match(b)
    if not ma or not mb or ma["account"] != mb["account"]:
        return False
    return ma["rest"].rsplit("/", 1)[-1] == mb["rest"].rsplit("/", 1)[-1] and ma["rest"].startswith("role/") and mb["rest"].startswith("role/")
