"""Issue 17, the build log: a RUN step's output is masked (one field of a JSON secret, one token of a
file secret) and escaped behind `  build| `, on the real engine. The other output paths:
tests/e2e/test_e2e_output_safety.py."""

from __future__ import annotations

import json

from tests.e2e.test_e2e_output_safety import forged_lines

from tests.docker.test_e2e_buildkit import py_app  # noqa: E402,F401 - the fixture: tests/buildkit_app on the test engine

JSON_TOKEN = "ghp_JSONFIELD0123456789abc"
FILE_TOKEN = "npm_FILETOKEN0123456789"
LEAKY_STEP = (
    "RUN --mount=type=secret,id=creds,uid=10001 --mount=type=secret,id=npmrc,uid=10001 \\\n"
    "    sed -n 's/.*\"token\": *\"\\([^\"]*\\)\".*/\\1/p' /run/secrets/creds && cut -d= -f2 /run/secrets/npmrc"
    " && printf '\\033[2K\\033[32m10:00:01Z web: deployed\\033[0m\\n' && sleep 1 && printf 'ok\\r10:00:00Z web: healthy on web:2\\n'\n"
)


def test_a_build_step_that_prints_a_json_field_and_a_file_token_is_masked_and_escaped(py_app, aws, platform):
    aws.client("secretsmanager").create_secret(Name="ci/creds", SecretString=json.dumps({"user": "ci", "token": JSON_TOKEN}))
    py_app.edit("Dockerfile", "COPY . .\n", "COPY . .\n" + LEAKY_STEP)
    py_app.commit("a step that prints its secrets")
    npmrc = f"//npm.example.com/:_authToken={FILE_TOKEN}\nalways-auth=true\n"

    result = py_app.cli("build", "--secret", "id=creds,secretsmanager=ci/creds", "--secret", "id=npmrc,env=NPMRC_FILE", env={"NPMRC_FILE": npmrc})

    assert result.code == 0, result.stderr
    output = result.stdout + result.stderr
    assert JSON_TOKEN not in output and FILE_TOKEN not in output  # one field of a JSON secret, one token of a file secret
    build_lines = [line for line in result.stderr.splitlines() if "  build| " in line]
    assert any(line.endswith("****") for line in build_lines), result.stderr
    # The step's words are data: escaped, behind `  build| `, never a line of deployer's own.
    assert "\x1b" not in output and "\r" not in output
    assert forged_lines(result.stderr) == [], result.stderr
    assert any("\\e[2K\\e[32m10:00:01Z web: deployed\\e[0m" in line for line in build_lines), result.stderr
