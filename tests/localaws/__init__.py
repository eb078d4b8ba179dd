"""localaws: moto as a local AWS, plus the ECS rollout behaviour moto lacks.

    from tests.localaws import LocalAws
    with LocalAws(tick=0.1) as aws:
        ... AWS_ENDPOINT_URL=aws.endpoint ...
"""
from .compat import check_moto

check_moto()  # before server.py imports moto's internals: an unsupported moto fails here, in one line

from .server import CONTROL_PREFIX, LocalAws  # noqa: E402
from .settings import Settings  # noqa: E402

__all__ = ["LocalAws", "Settings", "CONTROL_PREFIX"]
