"""The AWS API's own description of its inputs (botocore's service model), for checking and converting
definitions before any call: which fields an operation takes, and what is wrong with a request."""

from __future__ import annotations

_MODELS: dict = {}


def _model(service: str):
    if service not in _MODELS:
        from botocore.model import ServiceModel

        from .session import shared_loader

        # The loader the clients use: the model's JSON is parsed once in the process.
        _MODELS[service] = ServiceModel(shared_loader().load_service_model(service, "service-2"), service_name=service)
    return _MODELS[service]


def input_shape(service: str, operation: str):
    """The input shape of service.operation (walk it with .type_name, .members, .member, .key, .value)."""
    return _model(service).operation_model(operation).input_shape


def input_errors(service: str, operation: str, params: dict) -> str | None:
    """What is wrong with params as the input of service.operation (botocore's report), None when nothing."""
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(params, input_shape(service, operation))
    return report.generate_report() if report.has_errors() else None
