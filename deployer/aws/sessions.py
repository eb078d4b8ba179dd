"""Sessions into a task (ECS Exec) and Application Auto Scaling's range of a service: the writes of
the everyday commands that are not ECS's own API.

SSM StartSession (port forwarding through the ECS Exec agent) and RegisterScalableTarget. The
Session Manager plugin itself is run by the command; this module only hands it what it needs.
"""

from __future__ import annotations

from .session import translate_errors

PORT_FORWARDING = "AWS-StartPortForwardingSession"
PORT_FORWARDING_REMOTE = "AWS-StartPortForwardingSessionToRemoteHost"


def start_session(aws, target: str, document: str, parameters: dict[str, list[str]]) -> tuple[dict, dict, str]:
    """SSM StartSession: (the response, the request as the plugin wants it, the SSM endpoint)."""
    request = {"Target": target, "DocumentName": document, "Parameters": parameters}
    client = aws.client("ssm")
    with translate_errors(f"starting a session on {target}"):
        response = client.start_session(**request)
    response = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    return response, request, client.meta.endpoint_url


def register_scalable_target(aws, cluster: str, service: str, *, minimum: int | None, maximum: int | None) -> None:
    """RegisterScalableTarget on the service's DesiredCount: an existing target's range is updated."""
    kwargs: dict = {"ServiceNamespace": "ecs", "ResourceId": f"service/{cluster}/{service}", "ScalableDimension": "ecs:service:DesiredCount"}
    if minimum is not None:
        kwargs["MinCapacity"] = minimum
    if maximum is not None:
        kwargs["MaxCapacity"] = maximum
    with translate_errors(f"updating the autoscaling range of {service}"):
        aws.client("application-autoscaling").register_scalable_target(**kwargs)


def profile_name(aws) -> str:
    """The profile the plugin is told about, as the AWS CLI passes it: the one chosen (--profile,
    AWS_PROFILE), else empty (the default chain)."""
    import os

    return aws._profile or os.environ.get("AWS_PROFILE") or ""
