"""The renderer's side of deployer/manifest/sandbox.py: a fresh child process that lowers its own
limits, then renders Jinja or Jsonnet requests from the parent. Template functions that read AWS or
hold secrets are called back in the parent; this process has no credentials."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any, Callable

from ..core.errors import BadInput, DeployerError
from .sandbox import MAX_CALL_BYTES

# ---------------------------------------------------------------------------------------
# The child.


def child_main(seconds: int, mib: int) -> None:
    import resource

    limit = mib * 1024 * 1024
    for which, value in ((resource.RLIMIT_AS, limit), (resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, 0)):
        _lower(resource, which, value)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    # The protocol gets private descriptors; 0 and 1 point nowhere, so nothing rendered can write into it.
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    channel = _Channel(proto_in, proto_out)

    # Import what rendering needs now, before the first request: its time is not the template's.
    import jinja2.sandbox  # noqa: F401

    from . import jsonnet, templating  # noqa: F401

    try:
        import _jsonnet  # noqa: F401
    except ImportError:
        pass
    channel.send({"ready": True})
    while True:
        request = channel.receive()
        if request is None:
            return
        used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        _lower(resource, resource.RLIMIT_CPU, int(used) + seconds + 2, soft_only=True)
        try:
            reply = {"ok": _OPS[request["op"]](request, channel)}
        except MemoryError:
            reply = {"budget": "memory"}
        except DeployerError as exc:
            reply = {"error": exc.message, "hint": exc.hint, "class": type(exc).__name__}
        except Exception as exc:  # noqa: BLE001 - deployer's bug: reported as such by the parent
            reply = {"crash": f"{type(exc).__name__}: {exc}"}
        try:
            channel.send(reply)
        except MemoryError:
            os._exit(3)
        if "budget" in reply:
            os._exit(3)


def _lower(resource, which: int, value: int, soft_only: bool = False) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, hard if soft_only else value))


class _Channel:
    def __init__(self, incoming, outgoing):
        self.incoming, self.outgoing = incoming, outgoing
        self.buffer = b""

    def receive(self) -> dict | None:
        while b"\n" not in self.buffer:
            chunk = self.incoming.read(1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def send(self, message: dict) -> None:
        self.outgoing.write(json.dumps(message, default=str).encode("utf-8") + b"\n")
        self.outgoing.flush()

    def call(self, kind: str, name: str, args: tuple, kwargs: dict) -> Any:
        """A template function that runs in the parent (AWS, environment, secrets)."""
        data = json.dumps({"call": name, "kind": kind, "args": args, "kwargs": kwargs}, default=str)  # str() of an Undefined raises
        if len(data) > MAX_CALL_BYTES:
            raise BadInput(f"{name}(): the arguments are larger than {MAX_CALL_BYTES // 1024} KiB")
        self.outgoing.write(data.encode("utf-8") + b"\n")
        self.outgoing.flush()
        reply = self.receive()
        if reply is None:
            os._exit(0)
        if "raise" in reply:
            from ..core import errors

            if reply["raise"] == "builtin":
                import builtins

                cls = getattr(builtins, str(reply.get("type")), None)
                error = None
                if isinstance(cls, type) and issubclass(cls, Exception) and cls is not MemoryError:
                    try:
                        error = cls(reply.get("message", ""))
                    except Exception:  # noqa: BLE001 - an exception class that takes other arguments
                        error = None
                if error is not None:
                    raise error
                raise RuntimeError(f"{reply.get('type')}: {reply.get('message', '')}")
            cls = getattr(errors, str(reply["raise"]), BadInput)
            if not (isinstance(cls, type) and issubclass(cls, DeployerError)):
                cls = BadInput
            raise cls(reply.get("message", ""), hint=reply.get("hint"))
        value = reply.get("value")
        if "str_class" in reply:
            from . import templating

            cls = getattr(templating, str(reply["str_class"]), None)
            if isinstance(cls, type) and issubclass(cls, str):
                value = cls(value)
        return value

    def function(self, kind: str, name: str) -> Callable:
        def remote(*args, **kwargs):
            return self.call(kind, name, args, kwargs)

        remote.__name__ = name
        return remote


def _op_jinja(request: dict, channel: _Channel) -> str:
    from . import templating

    def table(kind: str) -> dict:
        # A module-level function of templating (tojson) runs here; the rest are the parent's.
        return {
            name: (getattr(templating, local) if local else channel.function(kind, name))
            for name, local in request[kind].items()
        }

    return templating.render_here(
        Path(request["path"]), Path(request["root"]), Path(request["repo_root"]), request["context"], table("globals"), table("filters")
    )


def _op_jsonnet(request: dict, channel: _Channel) -> str:
    from . import jsonnet

    return jsonnet.evaluate_here(request["text"], Path(request["path"]), request["context"], Path(request["repo_root"]))


_OPS = {"jinja": _op_jinja, "jsonnet": _op_jsonnet}
