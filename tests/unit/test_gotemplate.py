"""The Go template subset ecspresso projects use (deployer/onboard/gotemplate.py), and what ecspresso sends of a
definition (deployer/onboard/ecspresso.py clean_*), as read from kayac/ecspresso and kayac/go-config."""

from __future__ import annotations

import pytest

from deployer.onboard import ecspresso, gotemplate


def test_config_renders_with_go_configs_functions():
    text = "region: {{ must_env `AWS_REGION` }}\ncluster: {{ env \"CLUSTER\" \"demo\" }}\nservice: '{{ env `SVC` }}'\nx: \"{{ `a\"b` | json_escape }}\"\n"
    rendered, reads = gotemplate.render_config(text, {"AWS_REGION": "eu-west-1", "CLUSTER": ""})
    # env: first variable set and not empty, else the last argument (with one argument: its name)
    assert rendered == "region: eu-west-1\ncluster: demo\nservice: 'SVC'\nx: \"a\\\"b\"\n"
    assert ("AWS_REGION", 1) in reads and ("CLUSTER", 2) in reads


def test_trim_markers_and_comments():
    assert gotemplate.render("a  {{- `b` -}}  c {{/* note */}}d", {}) == "abc d"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x: {{ must_env `NOPE` }}", "must_env: environment variable NOPE is not defined"),
        ("\n\nx: {{ if true }}y{{ end }}", "the Go template `if` has no automatic conversion"),
        ("x: {{ .Env.X }}", "the Go template variable `.Env.X`"),
        ("x: {{ tfstate `a.b` }}", 'function "tfstate" not defined'),
        ("x: {{ env (must_env `A`) }}", "parentheses"),
    ],
)
def test_what_does_not_render_names_the_line(text, message):
    with pytest.raises(gotemplate.GoTemplateError) as caught:
        gotemplate.render_config(text, {})
    assert message in caught.value.message
    assert caught.value.line == text.count("\n") + 1


def test_service_definition_keeps_what_ecspresso_sends():
    dropped: list[str] = []
    sent = ecspresso.clean_service_definition({
        "serviceName": "web", "taskDefinition": "web:3", "platformFamily": "Linux", "pendingCount": 0, "runningCount": 2, "status": "ACTIVE",
        "events": [], "deployments": [{"id": "x"}], "createdAt": "2024", "roleArn": "arn", "launchType": "",
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["s"], "securityGroups": None, "assignPublicIp": ""}},
        "deploymentConfiguration": {"alarms": {"enable": False, "rollback": False}, "maximumPercent": 200},
        "loadBalancers": None, "DesiredCount": 2,
    }, dropped)
    assert sent == {
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["s"]}},
        "deploymentConfiguration": {"maximumPercent": 200},
        "loadBalancers": None,  # a top-level null: not sent by ecspresso, "off" for deployer
        "desiredCount": 2,  # Go decodes keys without regard to case
    }
    for key in ("serviceName", "taskDefinition", "platformFamily", "pendingCount", "runningCount", "status", "events", "deployments", "createdAt", "roleArn", "launchType",
                "networkConfiguration.awsvpcConfiguration.assignPublicIp", "deploymentConfiguration.alarms (no alarmNames)"):
        assert key in dropped


def test_alarms_with_names_stay_and_daemons_get_no_count():
    sent = ecspresso.clean_service_definition({"schedulingStrategy": "DAEMON", "desiredCount": 1, "deploymentConfiguration": {"alarms": {"alarmNames": ["a"], "enable": True, "rollback": True}}}, [])
    assert sent == {"schedulingStrategy": "DAEMON", "deploymentConfiguration": {"alarms": {"alarmNames": ["a"], "enable": True, "rollback": True}}}


def test_task_definition_as_ecspresso_loads_it():
    dropped: list[str] = []
    sent = ecspresso.clean_task_definition({
        "taskDefinition": {
            "taskDefinitionArn": "arn", "revision": 3, "status": "ACTIVE", "compatibilities": ["EC2"], "requiresAttributes": [{"name": "x"}],
            "family": "web", "ipcMode": "", "pidMode": "", "volumes": [], "proxyConfiguration": None,
            "containerDefinitions": [{"name": "a", "image": "i", "portMappings": [{"containerPort": 80, "appProtocol": "", "protocol": "tcp"}],
                                      "environment": [], "dockerLabels": {"k": ""}, "healthCheck": None}],
        },
        "tags": [],
    }, dropped)
    assert sent == {"family": "web", "containerDefinitions": [{"name": "a", "image": "i", "portMappings": [{"containerPort": 80, "protocol": "tcp"}], "dockerLabels": {"k": ""}}]}
    assert {"taskDefinitionArn", "revision", "ipcMode", "pidMode", "volumes", "containerDefinitions[0].portMappings[0].appProtocol", "tags"} <= set(dropped)


def test_tfstate_outputs_and_quoted_keys():
    state = {"outputs": {"ids": {"value": ["a", "b"]}, "n": {"value": 2}}, "resources": [
        {"mode": "managed", "type": "aws_subnet", "name": "s", "instances": [{"index_key": "x", "attributes": {"id": "sx"}}]}]}
    assert ecspresso.tfstate_lookup(state, "output.ids") == ["a", "b"]
    assert ecspresso.tfstate_lookup(state, "output.ids[1]") == "b"
    assert ecspresso.tfstate_lookup(state, "output.n") == 2
    assert ecspresso.tfstate_lookup(state, 'aws_subnet.s["x"].id') == "sx"
    assert ecspresso.tfstate_lookup(state, "output.none") is None


def test_literal_text_jinja_would_read_stays_literal():
    from pathlib import Path

    context = ecspresso._Context("td.jsonnet", ecspresso._functions(None, Path("."), "ecspresso.yml", ecspresso.Readers()), ecspresso.Converted({}, {}, "", None), ecspresso.Readers())
    out = ecspresso._go_in_jsonnet("{ command: 'echo ${#ARGS[@]} {%x%}', image: '{{ must_env `IMAGE` }}' }", context)
    assert out == "{ command: 'echo ${{ '{#' }}ARGS[@]} {{ '{%' }}x%}', image: '{{ must_env('IMAGE') }}' }"
    import jinja2

    assert jinja2.Environment().from_string(out).render(must_env=lambda n: "img") == "{ command: 'echo ${#ARGS[@]} {%x%}', image: 'img' }"
