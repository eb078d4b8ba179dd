"""The rows of the bad-input matrix (tests/e2e/test_e2e_bad_input.py) that need the Docker engine and
registry: `deployer release` with the engine unreachable, a missing Dockerfile, a refused push."""

from __future__ import annotations

import pytest

from tests.e2e.test_e2e_bad_input import CASES, check

DOCKER_CASES = [c for c in CASES if c.docker]


@pytest.mark.parametrize("case", DOCKER_CASES, ids=[c.id for c in DOCKER_CASES])
def test_bad_input_changes_nothing_in_a_release(app, aws, platform, docker_env, request, case):
    check(app, aws, platform, request, case)
