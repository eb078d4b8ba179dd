"""localaws: moto as a local AWS, plus the ECS rollout behaviour moto lacks.

    from tests.localaws import LocalAws
    with LocalAws(tick=0.1) as aws:
        ... AWS_ENDPOINT_URL=aws.endpoint ...
"""
import os

from .compat import check_moto

# moto loads ~thousands of public AMIs into every new EC2 backend (after each reset): a fifth of the
# emulator's CPU in the test suite. No ECS-on-Fargate path reads them.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

check_moto()  # before server.py imports moto's internals: an unsupported moto fails here, in one line

from .server import CONTROL_PREFIX, LocalAws  # noqa: E402
from .settings import Settings  # noqa: E402

__all__ = ["LocalAws", "Settings", "CONTROL_PREFIX"]
