"""The Dockerfile scan: BuildKit-only features and the secret/SSH mounts, with their lines."""

from __future__ import annotations

from deployer.image.dockerfile import scan

DOCKER_INIT = """\
# syntax=docker/dockerfile:1
ARG PYTHON_VERSION=3.12
FROM python:${PYTHON_VERSION}-slim AS base
RUN --mount=type=cache,target=/root/.cache/pip \\
    # comments inside a continuation are dropped
    --mount=type=bind,source=requirements.txt,target=requirements.txt \\
    python -m pip install -r requirements.txt
RUN --mount=type=secret,id=npm_token --mount=type=secret,target=/root/.netrc,required=false npm ci
RUN --mount=type=ssh git clone git@github.com:team/private.git
COPY --link . /app
RUN <<EOF
echo --mount=type=secret,id=inside_a_heredoc
EOF
COPY --chmod=755 run.sh /run.sh
COPY . /plain
"""


def test_features_and_mounts_with_their_lines(tmp_path):
    (tmp_path / "Dockerfile").write_text(DOCKER_INIT)
    found = scan(tmp_path / "Dockerfile")
    assert found.needs_buildkit
    assert found.buildkit_features == [
        "Dockerfile:1 `# syntax=docker/dockerfile:1` (a frontend image BuildKit pulls)",
        "Dockerfile:4 RUN --mount",
        "Dockerfile:8 RUN --mount",
        "Dockerfile:9 RUN --mount",
        "Dockerfile:10 COPY --link",
        "Dockerfile:11 RUN with a heredoc",
        "Dockerfile:14 COPY --chmod",
    ]
    # required unless required=false; the id defaults to the target's file name; heredoc bodies are not instructions
    assert found.secret_ids() == {"npm_token": 8}
    assert found.secret_ids(required_only=False) == {"npm_token": 8, ".netrc": 8}
    assert found.ssh_ids() == {"default": 9}


def test_a_plain_dockerfile_needs_nothing(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nCOPY . /app\nRUN echo --mount=type=secret,id=x\n")
    found = scan(tmp_path / "Dockerfile")
    assert not found.needs_buildkit and found.secret_ids() == {} and found.ssh_ids() == {}
