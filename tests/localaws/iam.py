"""An IAM simulation for the local AWS: the actions each request needs, recorded, and refused with
AWS's own AccessDenied answer when an identity policy is set and does not allow them.

`aws.iam.policy = json.loads(deployer iam-policy --for release)` makes every later request from
deployer (its User-Agent says `deployer`; a test's own boto3 client is not checked) checked against
that policy; `aws.iam.policy = None` (the default) allows everything. `aws.iam.recorded` is the set
of actions deployer requested since `aws.iam.clear()`.

What it models: Allow/Deny statements with Action / NotAction and `*` wildcards, and the actions a
request implies besides its own: `iam:PassRole` (RegisterTaskDefinition naming roles, RunTask),
`ecs:TagResource` (registration with tags), `iam:PassRole` (CreateSchedule / UpdateSchedule), `kms:Decrypt` (GetParameter(s) WithDecryption).
`aws.iam.untrusted_roles.add(role_arn)`: a role whose trust policy does not trust the caller: every
sts:AssumeRole of it (from anyone) is refused as AWS refuses it.
What it does not: resources and conditions (every statement is taken as matching any resource:
`deployer iam-policy` names its resources, and this checks the action lists are complete and minimal).
"""
from __future__ import annotations

import fnmatch
import json
import threading
import uuid
from typing import Any
from urllib.parse import parse_qs

# SigV4 signing name → IAM action prefix, where they differ.
IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "execute-api": "apigateway"}
# No permission needed: who am I.
ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}
# Query-protocol services (XML errors); ec2 has its own error document.
QUERY_SERVICES = {"cloudformation", "elasticloadbalancing", "iam", "sts", "monitoring"}
PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/deployer-simulated/session"


class PolicySimulator:
    def __init__(self) -> None:
        self.policy: dict[str, Any] | None = None
        self.recorded: set[str] = set()
        self.untrusted_roles: set[str] = set()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self.recorded = set()

    def actions(self, service: str, operation: str, body: bytes) -> list[str]:
        """The IAM actions one request needs: its own, then those it implies."""
        action = f"{IAM_PREFIX.get(service, service)}:{operation}"
        if service == "s3" and operation.startswith("GET /") and operation.strip("/").count("/") >= 1:
            action = "s3:GetObject"  # REST: GET /bucket/key (path style, as against the local endpoint)
        needed = [action]
        params = _json(body)
        if action == "ecs:RegisterTaskDefinition":
            if params.get("executionRoleArn") or params.get("taskRoleArn"):
                needed.append("iam:PassRole")
            if params.get("tags"):
                needed.append("ecs:TagResource")
        elif action in ("ecs:RunTask", "scheduler:CreateSchedule", "scheduler:UpdateSchedule"):
            needed.append("iam:PassRole")  # a schedule's target names the role Scheduler assumes
        elif action in ("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath") and params.get("WithDecryption"):
            needed.append("kms:Decrypt")
        return needed

    def check(self, service: str, operation: str, environ: dict[str, Any], body: bytes) -> tuple[str, list, bytes] | None:
        """None when allowed; else the (status, headers, body) AWS answers with."""
        if service == "sts" and operation == "AssumeRole" and self.untrusted_roles:
            role = parse_qs(body.decode("utf-8", "replace")).get("RoleArn", [""])[0]
            if role in self.untrusted_roles:
                return access_denied(service, "sts:AssumeRole", environ, resource=role)
        if "deployer" not in environ.get("HTTP_USER_AGENT", ""):
            return None
        needed = self.actions(service, operation, body)
        with self._lock:
            self.recorded.update(needed)
        if self.policy is None:
            return None
        for action in needed:
            if action not in ALWAYS_ALLOWED and not allowed(self.policy, action):
                return access_denied(service, action, environ)
        return None


def allowed(policy: dict[str, Any], action: str) -> bool:
    """An explicit Deny wins; otherwise some Allow statement must match."""
    verdicts = [s.get("Effect") for s in _statements(policy) if _matches(s, action)]
    return "Deny" not in verdicts and "Allow" in verdicts


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _matches(statement: dict[str, Any], action: str) -> bool:
    def any_match(patterns: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)

    if "NotAction" in statement:
        return not any_match(_as_list(statement["NotAction"]))
    return any_match(_as_list(statement.get("Action")))


def access_denied(service: str, action: str, environ: dict[str, Any], resource: str | None = None) -> tuple[str, list, bytes]:
    message = (f"User: {PRINCIPAL} is not authorized to perform: {action} on resource: {resource}" if resource
               else f"User: {PRINCIPAL} is not authorized to perform: {action} because no identity-based policy allows the {action} action")
    request_id = str(uuid.uuid4())
    if environ.get("HTTP_X_AMZ_TARGET"):
        body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
        return "400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id)], body
    if service == "ec2":
        body = (
            f"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation. {message}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        return "403 Forbidden", [("Content-Type", "text/xml")], body
    if service in QUERY_SERVICES:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return "403 Forbidden", [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body
    # REST-JSON services (Proton's retired API, Lambda...): the error type in a header.
    body = json.dumps({"message": message}).encode()
    return "403 Forbidden", [("Content-Type", "application/json"), ("x-amzn-ErrorType", "AccessDeniedException"), ("x-amzn-RequestId", request_id)], body


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
