"""The admins' guardrails (deployer/manifest/guardrails.py): the example policy of examples/platform against
rendered definitions shaped like examples/app's, the exact messages, policy documents in JSON and
YAML behind each kind of reference, and bad policies refused (exit 2) naming their source."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from deployer.manifest import guardrails
from deployer.core.errors import BadInput
from deployer.manifest.guardrails import check, load_policy, load_reference, parse_policy_reference

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "platform" / "deployer-policy.yaml"
REGISTRY = "111111111111.dkr.ecr.us-east-1.amazonaws.com"
DIGEST = "sha256:" + "ab" * 32

# What examples/app renders (ecs-task-def.json.j2, ecs-service-def.json.j2), with the container made
# compliant with the example policy (readonlyRootFilesystem) and the image in the platform's registry.
TASK_DEF = {
    "family": "web",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "executionRoleArn": "arn:aws:iam::222222222222:role/demo-task-execution",
    "taskRoleArn": "arn:aws:iam::222222222222:role/demo-task",
    "containerDefinitions": [
        {
            "name": "app",
            "image": f"{REGISTRY}/demo-web@{DIGEST}",
            "essential": True,
            "readonlyRootFilesystem": True,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "environment": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "GIT_SHA", "value": "abc1234"}],
            "healthCheck": {
                "command": ["CMD-SHELL", "wget -q -O- http://localhost:8080/health || exit 1"],
                "interval": 10, "timeout": 5, "retries": 3, "startPeriod": 10,
            },
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": "/demo/app", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"},
            },
        }
    ],
}
SERVICE = {
    "desiredCount": 2,
    "healthCheckGracePeriodSeconds": 30,
    "deploymentConfiguration": {
        "minimumHealthyPercent": 100,
        "maximumPercent": 200,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    },
    "enableExecuteCommand": False,
}

FARGATE_DESCRIPTION = (
    "Fargate cpu/memory pairs (CPU units → MiB): 256 → 512, 1024, 2048; 512 → 1024-4096; "
    "1024 → 2048-8192; 2048 → 4096-16384; 4096 → 8192-30720 (steps of 1024); "
    "8192 → 16384-61440 (steps of 4096); 16384 → 32768-122880 (steps of 8192)"
)
PRIVILEGED = "no privileged containers on this platform (a privileged container can take over its host)"
READ_ONLY = 'every container\'s root filesystem is read-only: set "readonlyRootFilesystem": true (write to a mounted volume instead)'
REGISTRIES = f"images come from the platform's ECR registry ({REGISTRY}) or public.ecr.aws"
LOGS = 'every container logs to CloudWatch Logs: a logConfiguration with "logDriver": "awslogs"'
IMAGE_PATTERN = (
    r"^(111111111111\.dkr\.ecr\.us-east-1\.amazonaws\.com|public\.ecr\.aws)/[a-z0-9][a-z0-9._/-]*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$"
)


@pytest.fixture(scope="module")
def policy():
    return load_policy(EXAMPLE.read_text(), str(EXAMPLE.name))


def td(**changes):
    out = copy.deepcopy(TASK_DEF)
    out.update(changes)
    return out


def container(**changes):
    out = copy.deepcopy(TASK_DEF)
    for key, value in changes.items():
        if value is _DROP:
            out["containerDefinitions"][0].pop(key, None)
        else:
            out["containerDefinitions"][0][key] = value
    return out


_DROP = object()


def messages(policy, task_definition=None, service=None):
    return [str(v) for v in check(policy, task_definition if task_definition is not None else TASK_DEF, service if service is not None else SERVICE)]


# ------------------------------------------------------------------------------- the example policy


def test_the_compliant_app_passes(policy):
    assert check(policy, TASK_DEF, SERVICE) == []


@pytest.mark.parametrize(
    "cpu,memory",
    [("256", "512"), ("256", "2048"), ("512", "1024"), ("512", "4096"), ("1024", "2048"), ("1024", "8192"),
     ("2048", "4096"), ("2048", "16384"), ("4096", "8192"), ("4096", "30720"), ("8192", "16384"), ("8192", "20480"),
     ("8192", "61440"), ("16384", "32768"), ("16384", "40960"), ("16384", "122880")],
)
def test_fargate_pairs_in_the_table_pass(policy, cpu, memory):
    assert messages(policy, td(cpu=cpu, memory=memory)) == []


@pytest.mark.parametrize(
    "cpu,memory",
    [("256", "4096"), ("512", "512"), ("1024", "9216"), ("2048", "2048"), ("4096", "31744"),
     ("8192", "18432"), ("16384", "36864"), ("16384", "131072"), ("128", "512"), ("1 vCPU", "2 GB")],
)
def test_fargate_pairs_outside_the_table_are_refused(policy, cpu, memory):
    assert messages(policy, td(cpu=cpu, memory=memory)) == [
        f'task_definition: cpu "{cpu}", memory "{memory}" matches none of the 7 allowed alternatives — {FARGATE_DESCRIPTION}'
    ]


def test_fargate_sizes_are_required(policy):
    definition = td()
    del definition["memory"]
    # (cpu 256 alone fits the first pair; the required keyword catches the missing memory)
    assert messages(policy, definition) == [f"task_definition.memory: is required but missing — {FARGATE_DESCRIPTION}"]
    del definition["cpu"]
    definition["memory"] = "3000"
    assert messages(policy, definition) == [
        f'task_definition: memory "3000", no cpu matches none of the 7 allowed alternatives — {FARGATE_DESCRIPTION}',
        f"task_definition.cpu: is required but missing — {FARGATE_DESCRIPTION}",
    ]


def test_desired_count_at_the_limit_passes(policy):
    assert messages(policy, service={**SERVICE, "desiredCount": 4}) == []


def test_desired_count_above_the_limit_is_refused(policy):
    assert messages(policy, service={**SERVICE, "desiredCount": 6}) == [
        "service.desiredCount: 6 is greater than the maximum of 4 — at most 4 tasks per service"
    ]


@pytest.mark.parametrize("value", [False, _DROP])
def test_unprivileged_containers_pass(policy, value):
    assert messages(policy, container(privileged=value)) == []


def test_a_privileged_container_is_refused(policy):
    assert messages(policy, container(privileged=True)) == [
        f"task_definition.containerDefinitions[0].privileged: true is not allowed — {PRIVILEGED}"
    ]


def test_a_writable_root_filesystem_is_refused(policy):
    assert messages(policy, container(readonlyRootFilesystem=False)) == [
        f"task_definition.containerDefinitions[0].readonlyRootFilesystem: false is not the required value true — {READ_ONLY}"
    ]


def test_the_read_only_root_filesystem_must_be_set(policy):
    # examples/app's template as shipped leaves it out: the example policy refuses it
    assert messages(policy, container(readonlyRootFilesystem=_DROP)) == [
        f"task_definition.containerDefinitions[0].readonlyRootFilesystem: is required but missing — {READ_ONLY}"
    ]


@pytest.mark.parametrize(
    "image",
    [f"{REGISTRY}/demo-web@{DIGEST}", f"{REGISTRY}/demo-web:abc1234", f"{REGISTRY}/team/web",
     "public.ecr.aws/nginx/nginx:1.27", f"public.ecr.aws/docker/library/busybox@{DIGEST}"],
)
def test_images_from_the_allowed_registries_pass(policy, image):
    assert messages(policy, container(image=image)) == []


@pytest.mark.parametrize(
    "image",
    ["nginx", "docker.io/library/nginx:1.27", "222222222222.dkr.ecr.us-east-1.amazonaws.com/web:1",
     f"{REGISTRY}.evil.example/web:1", "111111111111.dkr.ecr.eu-west-1.amazonaws.com/web:1",
     f"{REGISTRY}/web:1\nX", f"public.ecr.aws/web@sha256:{'0' * 63}"],
)
def test_images_from_other_registries_are_refused(policy, image):
    assert messages(policy, container(image=image)) == [
        f"task_definition.containerDefinitions[0].image: {json.dumps(image)} does not match the allowed pattern {IMAGE_PATTERN} — {REGISTRIES}"
    ]


def test_logs_to_awslogs_are_required(policy):
    assert messages(policy, container(logConfiguration=_DROP)) == [
        f"task_definition.containerDefinitions[0].logConfiguration: is required but missing — {LOGS}"
    ]
    assert messages(policy, container(logConfiguration={"logDriver": "splunk", "options": {}})) == [
        f'task_definition.containerDefinitions[0].logConfiguration.logDriver: "splunk" is not the required value "awslogs" — {LOGS}'
    ]
    assert messages(policy, container(logConfiguration={"options": {}})) == [
        f"task_definition.containerDefinitions[0].logConfiguration.logDriver: is required but missing — {LOGS}"
    ]


def test_every_container_is_checked_and_violations_sorted_by_path(policy):
    definition = copy.deepcopy(TASK_DEF)
    sidecar = copy.deepcopy(definition["containerDefinitions"][0])
    definition["containerDefinitions"] = [copy.deepcopy(sidecar) for _ in range(11)]
    definition["containerDefinitions"][10]["privileged"] = True
    definition["containerDefinitions"][2]["privileged"] = True
    definition["containerDefinitions"][2]["image"] = "docker.io/nginx"
    found = check(policy, definition, {**SERVICE, "desiredCount": 5})
    assert [v.path for v in found] == [
        "task_definition.containerDefinitions[2].image",
        "task_definition.containerDefinitions[2].privileged",
        "task_definition.containerDefinitions[10].privileged",
        "service.desiredCount",
    ]


def test_the_refusal_is_exit_2_naming_the_policy_and_every_rule(policy):
    found = check(policy, container(privileged=True), {**SERVICE, "desiredCount": 6})
    error = guardrails.refusal(policy, found, environment="prod")
    assert isinstance(error, BadInput) and error.exit_code == 2
    assert error.message == (
        "the definitions break 2 rules of the platform's deployer policy of environment prod (deployer-policy.yaml):\n"
        f"  task_definition.containerDefinitions[0].privileged: true is not allowed — {PRIVILEGED}\n"
        "  service.desiredCount: 6 is greater than the maximum of 4 — at most 4 tasks per service"
    )


def test_no_policy_and_no_service_check_nothing(policy):
    assert check(None, container(privileged=True), {"desiredCount": 99}) == []
    assert check(policy, TASK_DEF, None) == []


# ------------------------------------------------------------------------------- documents and references


def test_the_policy_in_json_and_yaml_is_the_same(policy):
    as_json = json.dumps(yaml.safe_load(EXAMPLE.read_text()))
    from_json = load_policy(as_json, "policy.json")
    assert from_json.document == policy.document
    assert [str(v) for v in check(from_json, container(privileged=True), SERVICE)] == messages(policy, container(privileged=True))


def test_yaml_flow_style_that_is_not_json_is_read_as_yaml():
    p = load_policy("{service: {properties: {desiredCount: {maximum: 1}}}}", "flow.yaml")
    assert [str(v) for v in check(p, {}, {"desiredCount": 2})] == ["service.desiredCount: 2 is greater than the maximum of 1"]


@pytest.mark.parametrize(
    "value,expected",
    [
        ("ssm:/platform/deployer-policy", ("ssm", "/platform/deployer-policy")),
        ("ssm:deployer-policy", ("ssm", "deployer-policy")),
        ("  ssm:/a/b_c.d-e \n", ("ssm", "/a/b_c.d-e")),
        ("s3://platform-policies/envs/prod/deployer-policy.yaml", ("s3", "platform-policies", "envs/prod/deployer-policy.yaml")),
        ('{"service": {}}', ("inline", '{"service": {}}')),
    ],
)
def test_each_reference_kind(value, expected):
    assert parse_policy_reference(value) == expected


@pytest.mark.parametrize("value", ["", "   ", None, "ssm:", "ssm:/a b", "s3://", "s3://bucket", "s3://bucket/", "s3://B!/k",
                                   "https://example.com/policy.json", "service: {}", "arn:aws:ssm:us-east-1:1:parameter/x"])
def test_bad_references_are_the_admins_error(value):
    with pytest.raises(BadInput) as err:
        parse_policy_reference(value)
    assert err.value.exit_code == 2
    assert "stack output DeployerPolicy" in err.value.message


def test_load_reference_follows_ssm_s3_and_inline_through_the_injected_readers():
    text = json.dumps({"service": {"properties": {"desiredCount": {"maximum": 4, "description": "at most 4 tasks per service"}}}})
    calls = []

    def read_ssm(name):
        calls.append(("ssm", name))
        return text

    def read_s3(bucket, key):
        calls.append(("s3", bucket, key))
        return yaml.safe_dump(json.loads(text)).encode()

    for ref in ("ssm:/platform/deployer-policy", "s3://policies/prod.yaml", text):
        p = load_reference(ref, read_ssm=read_ssm, read_s3=read_s3)
        assert [str(v) for v in check(p, {}, {"desiredCount": 6})] == [
            "service.desiredCount: 6 is greater than the maximum of 4 — at most 4 tasks per service"
        ]
    assert calls == [("ssm", "/platform/deployer-policy"), ("s3", "policies", "prod.yaml")]
    assert load_reference("ssm:/p", read_ssm=read_ssm, read_s3=read_s3).source == "SSM parameter /p (from stack output DeployerPolicy)"


@pytest.mark.parametrize(
    "text,needle",
    [
        ("", "the document is empty"),
        ("service:\n  properties: [\n", "not valid YAML (line 3, column 1)"),
        ('{"service": {"properties": }}', "not valid JSON (line 1, column 28)"),
        ("- service\n", "must be a mapping with task_definition and/or service, not an array"),
        ("taskDefinition: {}\n", "unknown key 'taskDefinition': a policy has only task_definition and service"),
        ("{}", "neither task_definition nor service"),
        ("service: 4\n", "service must be a JSON Schema (a mapping), not an integer"),
        ("service: {properties: {desiredCount: {maximum: four}}}\n",
         "service.properties.desiredCount.maximum is not a valid JSON Schema (Draft 2020-12): 'four' is not of type 'number'"),
        ("service: {properties: {x: {pattern: '(['}}}\n", "service.properties.x.pattern is not a valid JSON Schema"),
        ("service: {$ref: 'https://example.com/s.json'}\n", "service.$ref: 'https://example.com/s.json' points outside the policy"),
        ("service: {$ref: '#/$defs/missing'}\n", "service.$ref: '#/$defs/missing' does not resolve"),
        ("a: &x {maximum: 1}\nservice: {properties: {d: *x}}\n", "aliases (*name) are not allowed"),
        ("service: {}\nservice: {}\n", "duplicate key 'service'"),
        ('{"service": {"maximum": NaN}}', "not valid JSON"),
        ("service: {properties: {x: " + "{items: " * 5000 + "{}" + "}" * 5000 + "}}}\n", "nests too deep"),
        ('{"service": ' + "[" * 100000 + "]" * 100000 + "}", "nests too deep"),
        ("service: {? [a]: 1}\n", "a mapping key must be a plain value"),
    ],
)
def test_a_bad_policy_is_refused_naming_its_source(text, needle):
    with pytest.raises(BadInput) as err:
        load_policy(text, "SSM parameter /platform/deployer-policy")
    assert err.value.exit_code == 2
    assert err.value.message.startswith("deployer policy (SSM parameter /platform/deployer-policy): ")
    assert needle in err.value.message
    assert "refuses to deploy" in err.value.hint


def test_yaml_dates_and_yes_no_stay_strings():
    p = load_policy("service:\n  properties:\n    a: {const: 2024-01-01}\n    b: {enum: [no, off]}\n    c: {const: true}\n", "p.yaml")
    assert check(p, {}, {"a": "2024-01-01", "b": "no", "c": True}) == []
    assert [str(v) for v in check(p, {}, {"a": "x", "b": False, "c": "true"})] == [
        'service.a: "x" is not the required value "2024-01-01"',
        'service.b: false is not one of the allowed values "no", "off"',
        'service.c: "true" is not the required value true',
    ]


def test_a_policy_that_recurses_forever_is_refused_not_a_crash():
    p = load_policy('{"service": {"$defs": {"loop": {"$ref": "#/$defs/loop"}}, "$ref": "#/$defs/loop"}}', "loop.json")
    with pytest.raises(BadInput, match="recursed too deep"):
        check(p, {}, {"desiredCount": 1})


def test_a_huge_policy_is_refused():
    with pytest.raises(BadInput, match="more than the 1048576 bytes"):
        load_policy('{"service": {"description": "' + "x" * (1024 * 1024) + '"}}', "s3://b/k")


def test_references_inside_the_policy_are_followed():
    p = load_policy(
        yaml.safe_dump({"service": {"$defs": {"small": {"maximum": 2, "description": "small services"}},
                                    "properties": {"desiredCount": {"$ref": "#/$defs/small"}}}}),
        "inline",
    )
    assert [str(v) for v in check(p, {}, {"desiredCount": 3})] == ["service.desiredCount: 3 is greater than the maximum of 2 — small services"]


# ------------------------------------------------------------------------------- wording of each keyword


def one(schema, instance, part="service"):
    p = load_policy(json.dumps({part: schema}), "test")
    found = check(p, instance if part == "task_definition" else {}, instance if part == "service" else None)
    return [str(v) for v in found]


@pytest.mark.parametrize(
    "schema,instance,expected",
    [
        ({"properties": {"n": {"minimum": 1}}}, {"n": 0}, "service.n: 0 is less than the minimum of 1"),
        ({"properties": {"n": {"exclusiveMaximum": 4}}}, {"n": 4}, "service.n: 4 is not less than 4 (it must stay below 4)"),
        ({"properties": {"n": {"exclusiveMinimum": 0}}}, {"n": 0}, "service.n: 0 is not greater than 0 (it must stay above 0)"),
        ({"properties": {"n": {"multipleOf": 2}}}, {"n": 3}, "service.n: 3 is not a multiple of 2"),
        ({"properties": {"s": {"enum": ["a", "b"]}}}, {"s": "c"}, 'service.s: "c" is not one of the allowed values "a", "b"'),
        ({"properties": {"s": {"enum": ["a"]}}}, {"s": "c"}, 'service.s: "c" is not the one allowed value "a"'),
        ({"properties": {"s": {"const": "a"}}}, {"s": "c"}, 'service.s: "c" is not the required value "a"'),
        ({"properties": {"s": {"pattern": "^a"}}}, {"s": "b"}, 'service.s: "b" does not match the allowed pattern ^a'),
        ({"properties": {"n": {"type": "integer"}}}, {"n": "6"}, 'service.n: "6" is a string, not an integer'),
        ({"properties": {"n": {"type": ["integer", "null"]}}}, {"n": 1.5}, "service.n: 1.5 is a number, not an integer or null"),
        ({"properties": {"l": {"maxItems": 1}}}, {"l": [1, 2]}, "service.l: has 2 items, more than the maximum of 1"),
        ({"properties": {"l": {"minItems": 1}}}, {"l": []}, "service.l: has 0 items, fewer than the minimum of 1"),
        ({"properties": {"l": {"uniqueItems": True}}}, {"l": [1, 1]}, "service.l: has duplicate items; every item must be different"),
        ({"properties": {"s": {"maxLength": 2}}}, {"s": "abc"}, 'service.s: "abc" is 3 characters long, more than the maximum of 2'),
        ({"properties": {"a": {}}, "additionalProperties": False}, {"a": 1, "b-c": 2},
         'service["b-c"]: is not an allowed field (allowed: a)'),
        ({"required": ["a", "b"]}, {"b": 1}, "service.a: is required but missing"),
        ({"properties": {"s": {"not": {"enum": ["x", "y"]}}}}, {"s": "x"}, 'service.s: "x" is one of the forbidden values "x", "y"'),
        ({"properties": {"s": {"not": {"pattern": "latest$"}}}}, {"s": "web:latest"}, 'service.s: "web:latest" matches the forbidden pattern latest$'),
        ({"properties": {"s": False}}, {"s": 1}, "service.s: is not allowed here"),
        ({"properties": {"l": {"prefixItems": [{}], "items": False}}}, {"l": [1, 2]}, "service.l: has 2 items, more than the 1 allowed"),
        ({"properties": {"n": {"anyOf": [{"maximum": 1}, {"minimum": 10}]}}}, {"n": 5}, "service.n: 5 matches none of the 2 allowed alternatives"),
        ({"properties": {"n": {"oneOf": [{"maximum": 10}, {"minimum": 1}]}}}, {"n": 5},
         "service.n: 5 matches 2 of the 2 allowed alternatives; it must match exactly one"),
        ({"properties": {"l": {"contains": {"const": 1}}}}, {"l": [2]}, "service.l: has no item that matches what the policy requires"),
        ({"dependentRequired": {"a": ["b"]}}, {"a": 1}, "service.b: is required when a is set, but missing"),
    ],
)
def test_each_keyword_in_plain_english(schema, instance, expected):
    assert one(schema, instance) == [expected]


def test_description_of_the_failing_subschema_else_its_parent_but_not_the_root():
    schema = {
        "description": "the platform's service rules",
        "properties": {
            "deploymentConfiguration": {
                "description": "rollouts keep full capacity",
                "properties": {"minimumHealthyPercent": {"minimum": 100}, "maximumPercent": {"maximum": 200, "description": "at most double"}},
            },
            "desiredCount": {"maximum": 4},
        },
    }
    assert one(schema, {"desiredCount": 5, "deploymentConfiguration": {"minimumHealthyPercent": 50, "maximumPercent": 300}}) == [
        "service.deploymentConfiguration.maximumPercent: 300 is greater than the maximum of 200 — at most double",
        "service.deploymentConfiguration.minimumHealthyPercent: 50 is less than the minimum of 100 — rollouts keep full capacity",
        "service.desiredCount: 5 is greater than the maximum of 4",
    ]


def test_long_values_are_clipped():
    [message] = one({"properties": {"s": {"maxLength": 3}}}, {"s": "x" * 500})
    assert len(message) < 250 and "…" in message
