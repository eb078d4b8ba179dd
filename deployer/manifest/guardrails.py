"""The admins' guardrails: a JSON Schema policy the rendered definitions must satisfy before any write.

An environment's stack may carry the output `DeployerPolicy` (a fixed name: nothing in the app's
`deployer.yaml` can switch it off). Its value says where the policy is:

    ssm:/platform/deployer-policy      an SSM parameter in the environment's account
    s3://bucket/path/policy.yaml       an S3 object
    {"service": {...}}                 the policy itself, inline JSON

The document (JSON or YAML) is `{"task_definition": <JSON Schema>, "service": <JSON Schema>}`
(Draft 2020-12, either part optional), checked against the definitions as `deployer` would send
them to ECS (the API's camelCase keys). A violation reads like

    service.desiredCount: 6 is greater than the maximum of 4 — at most 4 tasks per service

(JSON path, the rule and its limit, then the schema's `description` when the failing subschema or
its parent has one). This is a guardrail for honest mistakes, not a security boundary: the boundary
is IAM (what the deploy role may do) and who controls the copy of `deployer` the pipeline runs.

Everything here is pure: reading the SSM parameter or the S3 object is the caller's (`load_reference`
takes the readers), so the module drops into any layer unchanged.

A policy that cannot be read, parsed or is not a valid schema is the admins' error, reported as
bad input (exit 2) naming where it came from: a release is refused rather than run unchecked,
since a guardrail is never guessed away.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import yaml

from ..core.errors import BadInput

OUTPUT_NAME = "DeployerPolicy"
PARTS = ("task_definition", "service")
MAX_POLICY_BYTES = 1024 * 1024  # far beyond any real policy (an SSM parameter holds 8 KB)

_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


# --------------------------------------------------------------------------------------------- reference


def parse_policy_reference(value: Any, *, origin: str = f"stack output {OUTPUT_NAME}") -> tuple:
    """`ssm:/name` → ("ssm", name); `s3://bucket/key` → ("s3", bucket, key); `{...}` → ("inline", text)."""
    if not isinstance(value, str) or not value.strip():
        raise BadInput(
            f"{origin} is empty: it must be ssm:/parameter-name, s3://bucket/key or inline JSON",
            hint="the admins publish the policy; without a readable policy deployer refuses to deploy",
        )
    text = value.strip()
    if text.startswith("ssm:"):
        name = text[len("ssm:"):]
        if not name or not re.fullmatch(r"[A-Za-z0-9_.\-/]+", name) or name.startswith("//"):
            raise BadInput(f"{origin}: {text!r} is not a valid SSM parameter reference (ssm:/parameter-name)")
        return ("ssm", name)
    if text.startswith("s3://"):
        bucket, _, key = text[len("s3://"):].partition("/")
        if not bucket or not key or not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", bucket):
            raise BadInput(f"{origin}: {text!r} is not a valid S3 reference (s3://bucket/key)")
        return ("s3", bucket, key)
    if text.startswith("{"):
        return ("inline", text)
    raise BadInput(
        f"{origin}: {_clip(text, 60)!r} is neither ssm:/parameter-name, s3://bucket/key nor inline JSON",
    )


def describe_reference(ref: tuple) -> str:
    """A human name for where a policy came from (for messages and `deployer policy`)."""
    if ref[0] == "ssm":
        return f"SSM parameter {ref[1]}"
    if ref[0] == "s3":
        return f"s3://{ref[1]}/{ref[2]}"
    return f"the inline JSON of stack output {OUTPUT_NAME}"


def load_reference(
    value: Any,
    *,
    read_ssm: Callable[[str], str],
    read_s3: Callable[[str, str], str | bytes],
    origin: str = f"stack output {OUTPUT_NAME}",
) -> "Policy":
    """Follow the stack output to the document and load it. The readers do the AWS calls (SSM
    GetParameter WithDecryption, S3 GetObject) and raise the caller's own errors when they fail."""
    ref = parse_policy_reference(value, origin=origin)
    if ref[0] == "ssm":
        text = read_ssm(ref[1])
    elif ref[0] == "s3":
        text = read_s3(ref[1], ref[2])
    else:
        text = ref[1]
    source = describe_reference(ref) if ref[0] == "inline" else f"{describe_reference(ref)} (from {origin})"
    return load_policy(text, source)


# --------------------------------------------------------------------------------------------- the policy


@dataclass(frozen=True)
class Policy:
    source: str  # where it came from, named in every message
    document: dict
    schemas: dict = field(repr=False)  # part → schema (only the parts the policy has)

    def validator(self, part: str):
        from jsonschema import Draft202012Validator

        return Draft202012Validator(self.schemas[part], registry=_local_registry())


@dataclass(frozen=True)
class Violation:
    part: str  # "task_definition" | "service"
    path: str  # "service.desiredCount"
    message: str  # "6 is greater than the maximum of 4"
    description: str | None = None
    keyword: str | None = None

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}"
        return f"{text} — {self.description}" if self.description else text


def _local_registry():
    """References resolve inside the policy only: nothing is fetched from the network."""
    from referencing import Registry

    def refuse(uri: str):
        from referencing.exceptions import NoSuchResource

        raise NoSuchResource(ref=uri)

    return Registry(retrieve=refuse)


def load_policy(text: str | bytes, source_name: str) -> Policy:
    """Parse (JSON, else YAML) and validate the document itself; every problem names `source_name`."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    where = f"deployer policy ({source_name})"
    hint = "the platform admins own this policy; deployer refuses to deploy until it is fixed"
    if isinstance(text, bytes):
        if len(text) > MAX_POLICY_BYTES:
            raise BadInput(f"{where}: {len(text)} bytes, more than the {MAX_POLICY_BYTES} a policy may have", hint=hint)
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})", hint=hint) from None
    if not isinstance(text, str):
        raise BadInput(f"{where}: no text", hint=hint)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_POLICY_BYTES:
        raise BadInput(f"{where}: more than the {MAX_POLICY_BYTES} bytes a policy may have", hint=hint)
    try:
        document = _parse(text, where, hint)
    except RecursionError:
        raise BadInput(f"{where}: the document nests too deep", hint=hint) from None

    if not isinstance(document, dict):
        raise BadInput(f"{where}: the document must be a mapping with task_definition and/or service, not {_type_name(document)}", hint=hint)
    unknown = [k for k in document if k not in PARTS]
    if unknown:
        raise BadInput(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(repr(str(k)) for k in unknown)}: "
            f"a policy has only {' and '.join(PARTS)} (a misspelt part would check nothing)",
            hint=hint,
        )
    if not any(part in document for part in PARTS):
        raise BadInput(f"{where}: the policy has neither task_definition nor service: it would check nothing", hint=hint)
    schemas = {}
    for part in PARTS:
        if part not in document:
            continue
        schema = document[part]
        if not isinstance(schema, (dict, bool)):
            raise BadInput(f"{where}: {part} must be a JSON Schema (a mapping), not {_type_name(schema)}", hint=hint)
        try:
            Draft202012Validator.check_schema(schema)
        except RecursionError:
            raise BadInput(f"{where}: {part} nests too deep", hint=hint) from None
        except SchemaError as exc:
            at = _schema_path(part, exc.path)
            raise BadInput(f"{where}: {at} is not a valid JSON Schema (Draft 2020-12): {_clip(exc.message, 200)}", hint=hint) from None
        _check_references(schema, part, where, hint)
        schemas[part] = _false_as_not(schema)
    return Policy(source=source_name, document=document, schemas=schemas)


def _parse(text: str, where: str, hint: str) -> Any:
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise BadInput(f"{where}: the document is empty", hint=hint)
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(stripped, parse_constant=_no_constant)
        except ValueError as json_error:
            # YAML flow style also starts with "{" ({service: ...}); what starts like JSON ({"...) is JSON.
            looks_like_json = re.match(r'^[\[{]\s*["{}\[\]]', stripped) is not None
            try:
                if looks_like_json:
                    raise yaml.YAMLError("JSON")
                return _yaml(stripped)
            except yaml.YAMLError:
                line = getattr(json_error, "lineno", None)
                at = f" (line {line}, column {json_error.colno})" if line else ""
                msg = getattr(json_error, "msg", str(json_error))
                raise BadInput(f"{where}: not valid JSON{at}: {msg}", hint=hint) from None
    try:
        return _yaml(stripped)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BadInput(f"{where}: not valid YAML{at}: {problem}", hint=hint) from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


class _PolicyLoader(yaml.SafeLoader):
    """Safe YAML without aliases (a policy has no use for them, and they can multiply a small
    document into a huge one), and with duplicate keys refused (the second would silently win)."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(None, None, "aliases (*name) are not allowed in a policy", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a plain value", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 reads 2024-01-01 as a date and yes/no/on/off as booleans; JSON Schema compares with the
# rendered JSON's strings, so a policy reads those as strings (true/false stay booleans).
_PolicyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"
            and not (tag == "tag:yaml.org,2002:bool" and first not in "tTfF")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PolicyLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_PolicyLoader)  # noqa: S506 - a SafeLoader subclass


def _check_references(schema: Any, part: str, where: str, hint: str) -> None:
    """Every $ref must point inside the policy (nothing is fetched), and must resolve now rather than
    in the middle of a release."""
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012

    if not isinstance(schema, dict):
        return
    resolver = _local_registry().resolver_with_root(DRAFT202012.create_resource(schema))
    for path, keyword, ref in _references(schema, []):
        at = _schema_path(part, path + [keyword])
        if not ref.startswith("#"):
            raise BadInput(f"{where}: {at}: {ref!r} points outside the policy; only references inside it (#/$defs/...) are followed", hint=hint)
        try:
            resolver.lookup(ref)
        except Unresolvable:
            raise BadInput(f"{where}: {at}: {ref!r} does not resolve to anything in the policy", hint=hint) from None


def _false_as_not(schema: Any) -> Any:
    """`false` subschemas as `{"not": {}}` (the same meaning): jsonschema reports a `false` schema's
    error without the instance path, so "service.privileged: is not allowed here" would lose its field."""
    if schema is False:
        return {"not": {}}
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in _ONE:  # (`additionalProperties: false` and the like have their own error, with the field)
            keep = value is False and key in ("additionalProperties", "unevaluatedProperties", "items", "unevaluatedItems")
            out[key] = value if keep else _false_as_not(value)
        elif key in _MAP and isinstance(value, dict):
            out[key] = {name: _false_as_not(sub) for name, sub in value.items()}
        elif key in _LIST and isinstance(value, list):
            out[key] = [_false_as_not(sub) for sub in value]
        else:
            out[key] = value
    return out


def _references(node: Any, path: list) -> Iterable[tuple[list, str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                yield path, key, value
            elif key not in ("const", "enum", "default", "examples"):  # those hold data, not schemas
                yield from _references(value, path + [key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _references(value, path + [i])


# --------------------------------------------------------------------------------------------- check


def check(policy: Policy | None, task_definition: dict | None, service: dict | None) -> list[Violation]:
    """Every violation of the policy by these definitions (as sent to ECS), sorted by path."""
    if policy is None:
        return []
    from referencing.exceptions import Unresolvable

    found: list[Violation] = []
    for part, instance in (("task_definition", task_definition), ("service", service)):
        if part not in policy.schemas or instance is None:
            continue
        schema = policy.schemas[part]
        try:
            errors = list(policy.validator(part).iter_errors(instance))
        except RecursionError:  # a policy that recurses through $ref forever, or a definition nested too deep
            raise BadInput(f"deployer policy ({policy.source}): checking the {part.replace('_', ' ')} recursed too deep") from None
        except Unresolvable as exc:  # _check_references keeps this from happening; never pass unchecked
            raise BadInput(f"deployer policy ({policy.source}): {part}: a reference does not resolve: {exc}") from None
        for error in errors:
            found.extend(_violations(part, schema, error))
    unique = {}
    for v in found:
        unique.setdefault((v.path, v.message), v)
    return sorted(unique.values(), key=lambda v: (PARTS.index(v.part), _sort_key(v.path), v.message))


def refusal(policy: Policy, violations: list[Violation], *, environment: str | None = None) -> BadInput:
    """The exit-2 error a command raises (before any write) when `check` found violations."""
    env = f" of environment {environment}" if environment else ""
    count = len(violations)
    lines = "\n".join(f"  {v}" for v in violations)
    return BadInput(
        f"the definitions break {count} rule{'s' if count != 1 else ''} of the platform's deployer policy{env} "
        f"({policy.source}):\n{lines}",
        hint="the admins set these limits; change the templates or vars (or ask the platform admins), nothing was changed in AWS",
    )


def _sort_key(path: str) -> list:
    """Sort `a[10]` after `a[2]`."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\[\]]+", path) if p]


def _violations(part: str, root: Any, error) -> list[Violation]:
    keyword = error.validator
    value = error.instance
    limit = error.validator_value
    path = list(error.absolute_path)
    description = _description(root, list(error.absolute_schema_path), error.schema)

    def one(message: str, at: list | None = None) -> Violation:
        return Violation(part, _render_path(part, path if at is None else at), message, description, keyword)

    if keyword == "required":
        missing = [name for name in limit if isinstance(value, dict) and name not in value]
        return [one("is required but missing", path + [name]) for name in missing] or [one(error.message)]
    if keyword == "dependentRequired":
        out = []
        for trigger, needed in (limit or {}).items():
            if isinstance(value, dict) and trigger in value:
                out += [one(f"is required when {trigger} is set, but missing", path + [n]) for n in needed if n not in value]
        return out or [one(error.message)]
    if keyword in ("additionalProperties", "unevaluatedProperties") and limit is False:
        extras = _extra_names(error)
        allowed = sorted((error.schema.get("properties") or {}).keys()) if isinstance(error.schema, dict) else []
        tail = f" (allowed: {', '.join(allowed)})" if allowed and len(allowed) <= 20 else ""
        return [one(f"is not an allowed field{tail}", path + [name]) for name in extras] or [one("has fields the policy does not allow")]
    return [one(_message(keyword, value, limit, error))]


def _extra_names(error) -> list[str]:
    value, schema = error.instance, error.schema
    if not isinstance(value, dict) or not isinstance(schema, dict):
        return []
    props = schema.get("properties") or {}
    patterns = [re.compile(p) for p in (schema.get("patternProperties") or {})]
    return [k for k in value if k not in props and not any(p.search(k) for p in patterns)]


_TYPE_NAMES = {
    "string": "a string", "integer": "an integer", "number": "a number", "object": "an object",
    "array": "an array", "boolean": "a boolean (true/false)", "null": "null",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean (true/false)"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _show(value: Any, width: int = 160) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return _clip(text, width)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _values(items: list, most: int = 12) -> str:
    shown = ", ".join(_show(v, 40) for v in items[:most])
    return shown if len(items) <= most else f"{shown}, … ({len(items)} in all)"


def _message(keyword: str | None, value: Any, limit: Any, error) -> str:
    v = _show(value)
    if keyword == "maximum":
        return f"{v} is greater than the maximum of {_show(limit)}"
    if keyword == "minimum":
        return f"{v} is less than the minimum of {_show(limit)}"
    if keyword == "exclusiveMaximum":
        return f"{v} is not less than {_show(limit)} (it must stay below {_show(limit)})"
    if keyword == "exclusiveMinimum":
        return f"{v} is not greater than {_show(limit)} (it must stay above {_show(limit)})"
    if keyword == "multipleOf":
        return f"{v} is not a multiple of {_show(limit)}"
    if keyword == "enum":
        items = list(limit)
        if len(items) == 1:
            return f"{v} is not the one allowed value {_show(items[0], 40)}"
        return f"{v} is not one of the allowed values {_values(items)}"
    if keyword == "const":
        return f"{v} is not the required value {_show(limit)}"
    if keyword == "pattern":
        return f"{v} does not match the allowed pattern {limit}"
    if keyword == "type":
        wanted = [limit] if isinstance(limit, str) else list(limit)
        return f"{v} is {_type_name(value)}, not {' or '.join(_TYPE_NAMES.get(t, t) for t in wanted)}"
    if keyword == "maxItems":
        return f"has {len(value)} items, more than the maximum of {limit}"
    if keyword == "minItems":
        return f"has {len(value)} item{'s' if len(value) != 1 else ''}, fewer than the minimum of {limit}"
    if keyword == "uniqueItems":
        return "has duplicate items; every item must be different"
    if keyword == "maxLength":
        return f"{v} is {len(value)} characters long, more than the maximum of {limit}"
    if keyword == "minLength":
        return f"{v} is {len(value)} characters long, fewer than the minimum of {limit}"
    if keyword == "maxProperties":
        return f"has {len(value)} fields, more than the maximum of {limit}"
    if keyword == "minProperties":
        return f"has {len(value)} field{'s' if len(value) != 1 else ''}, fewer than the minimum of {limit}"
    if keyword == "contains":
        return "has no item that matches what the policy requires"
    if keyword == "minContains":
        return f"has fewer than {limit} items that match what the policy requires"
    if keyword == "maxContains":
        return f"has more than {limit} items that match the schema (at most {limit} allowed)"
    if keyword == "not":
        return _not_message(value, limit)
    if keyword in ("anyOf", "oneOf"):
        subject = _subject(value, limit)
        if keyword == "oneOf":  # "none matched" or "more than one matched"
            matched = [i for i, sub in enumerate(limit) if _valid(error, sub)]
            if len(matched) > 1:
                return f"{subject} matches {len(matched)} of the {len(limit)} allowed alternatives; it must match exactly one"
        return f"{subject} matches none of the {len(limit)} allowed alternatives"
    if keyword in ("items", "unevaluatedItems") and limit is False and isinstance(value, list):
        allowed = len(error.schema.get("prefixItems") or []) if isinstance(error.schema, dict) else 0
        return f"has {len(value)} items, more than the {allowed} allowed"
    if keyword is None or limit is False or error.schema is False:  # a `false` schema
        return "is not allowed here"
    return _clip(error.message, 200)  # a keyword without its own wording (format, dependentSchemas, ...)


def _valid(error, schema) -> bool:
    from jsonschema import Draft202012Validator

    try:
        return Draft202012Validator(schema, registry=_local_registry()).is_valid(error.instance)
    except Exception:  # noqa: BLE001 - a $ref into the parent cannot be followed from here: count it unmatched
        return False


def _not_message(value: Any, forbidden: Any) -> str:
    v = _show(value)
    if isinstance(forbidden, dict):
        if set(forbidden) - {"description", "$comment", "title"} == {"const"}:
            return f"{v} is not allowed"
        if set(forbidden) - {"description", "$comment", "title"} == {"enum"}:
            return f"{v} is one of the forbidden values {_values(list(forbidden['enum']))}"
        if set(forbidden) - {"description", "$comment", "title"} == {"pattern"}:
            return f"{v} matches the forbidden pattern {forbidden['pattern']}"
        if set(forbidden) - {"description", "$comment", "title"} == {"required"}:
            return f"must not set {', '.join(forbidden['required'])}"
    if forbidden is True or forbidden == {}:
        return "is not allowed here"
    return f"{v} matches what the policy forbids"


def _subject(value: Any, alternatives: Any) -> str:
    """What an anyOf/oneOf judged: the value itself, or for an object the fields the alternatives
    constrain (`{"cpu": "256", "memory": "4096"}` rather than the whole task definition)."""
    if not isinstance(value, dict):
        return _show(value)
    names: list[str] = []
    for alt in alternatives if isinstance(alternatives, list) else []:
        if isinstance(alt, dict):
            for name in list((alt.get("properties") or {}).keys()) + list(alt.get("required") or []):
                if name not in names:
                    names.append(name)
    if not names:
        return "the object"
    shown = {n: value[n] for n in names if n in value}
    absent = [n for n in names if n not in value]
    text = ", ".join(f"{n} {_show(value[n], 40)}" for n in shown)
    if absent:
        text += (", " if text else "") + ", ".join(f"no {n}" for n in absent)
    return text


# schema keywords whose value is one subschema, a map of name → subschema, or a list of subschemas
_ONE = {"not", "if", "then", "else", "items", "contains", "additionalProperties", "propertyNames",
        "unevaluatedItems", "unevaluatedProperties", "contentSchema"}
_MAP = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
_LIST = {"allOf", "anyOf", "oneOf", "prefixItems"}


def _description(root: Any, schema_path: list, failing: Any) -> str | None:
    """The failing subschema's description, else the nearest enclosing schema's that has one (its
    parent, grandparent, ...; not the part's root schema, whose description is about the whole policy)."""
    if isinstance(failing, dict) and isinstance(failing.get("description"), str):
        return failing["description"].strip() or None
    # walk the schema path (the last element is the failing keyword) to collect the enclosing schemas
    nodes = [root]
    node, i, steps = root, 0, schema_path[:-1]
    while i < len(steps):
        key = steps[i]
        if not isinstance(node, dict) or key not in node:
            return None  # through a $ref: the path left this document's structure
        if key in _ONE:
            node, i = node[key], i + 1
        elif key in _MAP or key in _LIST:
            if i + 1 >= len(steps):
                return None
            container = node[key]
            sub = steps[i + 1]
            try:
                node = container[sub]
            except (KeyError, IndexError, TypeError):
                return None
            i += 2
        else:
            return None
        nodes.append(node)
    # nodes[-1] is the failing subschema (no description); nodes[0] the root
    for ancestor in reversed(nodes[1:-1]):
        if isinstance(ancestor, dict) and isinstance(ancestor.get("description"), str) and ancestor["description"].strip():
            return ancestor["description"].strip()
    return None


def _render_path(part: str, path: list) -> str:
    out = part
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif _IDENT.match(str(p)):
            out += f".{p}"
        else:
            out += f"[{json.dumps(str(p))}]"
    return out


def _schema_path(part: str, path: Iterable) -> str:
    steps = list(path)
    return _render_path(part, steps) if steps else part
