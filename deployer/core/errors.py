"""Errors carry their exit code, so the CLI layer only has to print and exit.

Exit codes are part of the contract (the README's "Exit codes"): 1 the deployment failed, 2 bad input
(nothing was changed in AWS), 3 AWS or Docker refused or was unreachable, 130 interrupted.
"""

from __future__ import annotations


class DeployerError(Exception):
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class BadInput(DeployerError):
    """Config, template, definition or flag problem, found before any AWS write."""

    exit_code = 2


class ExternalError(DeployerError):
    """AWS or Docker refused a call or could not be reached."""

    exit_code = 3


class DeploymentFailed(DeployerError):
    """The rollout did not reach the verdict 'healthy on the revision this run registered'."""

    exit_code = 1

    def __init__(self, message: str, *, result: dict | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.result = result or {}


class Interrupted(DeployerError):
    exit_code = 130
