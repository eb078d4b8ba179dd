"""deployer/commands/revisions.py: which revisions prune keeps, on plain data (no AWS)."""

from __future__ import annotations

from deployer.commands.revisions import keepers, protected_revisions
from deployer.aws.ecs import TAG_HEALTHY, Revision


def _arn(n: int) -> str:
    return f"arn:aws:ecs:us-east-1:123456789012:task-definition/web:{n}"


def _family(healthy: set[int], newest: int) -> tuple[list[str], dict]:
    arns = [_arn(n) for n in range(newest, 0, -1)]
    revisions = {
        _arn(n): Revision(_arn(n), "web", n, "ACTIVE", {}, {TAG_HEALTHY: "2026-11-29T08:00:00Z"} if n in healthy else {})
        for n in range(1, newest + 1)
    }
    return arns, revisions


def test_the_running_revision_the_rollback_target_and_revisions_in_use_are_protected():
    arns, revisions = _family(healthy={1, 2, 5}, newest=6)
    used = {_arn(3): "runs service web-canary", _arn(4): "used by deployment ecs-svc/9 of service web", "arn:other:9": "elsewhere"}
    service = {"taskDefinition": _arn(4)}
    protected = protected_revisions("web", service, arns, revisions, used)
    assert protected == {
        _arn(4): "running",
        _arn(3): "runs service web-canary",
        _arn(5): "last healthy revision",
        _arn(2): "rollback target of web (the previous healthy revision)",
    }


def test_a_service_without_revisions_in_use_protects_only_what_it_has():
    arns, revisions = _family(healthy=set(), newest=3)
    assert protected_revisions("web", {}, arns, revisions, {}) == {}


def test_keep_counts_healthy_revisions_first_then_the_newest_others():
    arns, revisions = _family(healthy={1, 2}, newest=12)
    assert keepers(arns, revisions, 1) == [_arn(2)]
    assert keepers(arns, revisions, 4) == [_arn(2), _arn(1), _arn(12), _arn(11)]
    assert len(keepers(arns, revisions, 50)) == 12
