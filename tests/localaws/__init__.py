"""localaws: moto as a local AWS, plus the ECS rollout behaviour moto lacks.

    from tests.localaws import LocalAws
    with LocalAws(tick=0.1) as aws:
        ... AWS_ENDPOINT_URL=aws.endpoint ...
"""
from .server import CONTROL_PREFIX, LocalAws
from .settings import Settings

__all__ = ["LocalAws", "Settings", "CONTROL_PREFIX"]
