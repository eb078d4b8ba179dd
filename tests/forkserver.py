"""Start the real `deployer` command without paying Python's start-up each time.

An end-to-end test runs `deployer` hundreds of times; each `python -m deployer` spent ~0.5 s of CPU
importing boto3, typer and deployer and parsing botocore's service models before doing anything, and
on a 2-core machine that, not the emulated rollouts, was what the suite waited on.

This is a zygote, as Android and the multiprocessing "forkserver" use: a process that imports all of
that once, single-threaded, then forks a fresh child for each command. The child is still a process
of its own: its own environment, working directory, stdin/stdout/stderr, signal dispositions and
exit code; it runs `deployer.cli.app.main()`, the entry point `python -m deployer` runs. What it
does not repeat is the importing. Tests that need a process they start themselves (signals, two
releases at once, peak memory) still use subprocess.

    server = ForkServer.start()
    code, stdout, stderr = server.run(["status"], cwd=..., env=..., timeout=180)

Protocol: one Unix-socket connection per command; a JSON request line; the reply is a JSON line.
The zygote forks a handler per connection (so a slow command never blocks the next), the handler
forks the command's process and waits for it with the timeout.
"""

from __future__ import annotations

import gc
import io
import json
import locale
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The AWS services deployer calls: their botocore models are parsed once, in the zygote.
SERVICES = ("application-autoscaling", "cloudformation", "cloudwatch", "ec2", "ecr", "ecs", "elbv2", "events",
            "iam", "logs", "s3", "scheduler", "secretsmanager", "ssm", "sts")
# Modules deployer imports inside functions rather than at the top (grep -rn '^ \+import\|^ \+from' deployer):
# imported once here, not again in every command that uses them.
LAZY_IMPORTS = ("yaml", "rich.console", "rich.markup", "rich.text", "rich.progress", "tenacity", "zoneinfo",
                "jinja2", "jinja2.sandbox", "jsonschema", "jsonschema.exceptions", "referencing",
                "referencing.exceptions", "referencing.jsonschema", "_jsonnet", "docker", "docker.context",
                "docker.context.config")


class ForkServer:
    def __init__(self, process: subprocess.Popen, path: str, directory: str):
        self.process, self.path, self.directory = process, path, directory
        self.commands, self.command_cpu = 0, 0.0  # how many it ran, and their CPU (tests/suite_profile.py)

    @classmethod
    def start(cls, env: dict[str, str] | None = None) -> "ForkServer":
        directory = tempfile.mkdtemp(prefix="deployer-zygote-")
        path = os.path.join(directory, "socket")
        process = subprocess.Popen(
            [sys.executable, "-c", "from tests.forkserver import serve; import sys; serve(sys.argv[1])", path],
            cwd=ROOT, env={**(env if env is not None else os.environ), "PYTHONPATH": str(ROOT)},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=None)
        line = process.stdout.readline()  # "ready" once everything is imported
        if line.strip() != b"ready":
            process.kill()
            raise RuntimeError(f"the deployer zygote did not start: {line!r}")
        return cls(process, path, directory)

    def alive(self) -> bool:
        return self.process.poll() is None

    def run(self, args: list[str], *, cwd: str | Path, env: dict[str, str], timeout: float) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) of `deployer ARGS`, decoded as subprocess.run(text=True) would;
        subprocess.TimeoutExpired past the timeout (the command is killed)."""
        request = {"args": list(args), "cwd": str(cwd), "env": dict(env), "timeout": timeout}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self.path)
            conn.sendall(json.dumps(request).encode() + b"\n")
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = conn.recv(1 << 20)
                if not chunk:
                    raise RuntimeError("the deployer zygote closed the connection without an answer")
                reply += chunk
        answer = json.loads(reply)
        stdout, stderr = (_text(bytes.fromhex(answer[k])) for k in ("stdout", "stderr"))
        if answer.get("timeout"):
            raise subprocess.TimeoutExpired(["deployer", *args], timeout, output=stdout, stderr=stderr)
        self.commands += 1
        self.command_cpu += answer["cpu"]
        self.last_maxrss_kib = answer.get("maxrss_kib")
        return answer["code"], stdout, stderr

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        try:
            os.unlink(self.path)
        except OSError:
            pass
        try:
            os.rmdir(self.directory)
        except OSError:
            pass


def _text(data: bytes) -> str:
    # What subprocess.run(text=True) returns: the locale's encoding, universal newlines.
    return io.TextIOWrapper(io.BytesIO(data), encoding=locale.getpreferredencoding(False)).read()


# ---------------------------------------------------------------------------------------------
# The zygote.


def serve(path: str) -> None:
    # As the `deployer` console script: the working directory (the app repository) is not on the import path.
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]
    _warm()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # handlers are reaped by the kernel
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        if os.fork() == 0:
            listener.close()
            code = 1
            try:
                _handle(conn)
                code = 0
            finally:
                os._exit(code)
        conn.close()


def _warm() -> None:
    """Import what `deployer` imports, and parse the botocore models it loads, before any fork."""
    import importlib
    import pkgutil

    import deployer

    for module in pkgutil.walk_packages(deployer.__path__, "deployer."):
        if module.name.endswith("__main__"):
            continue
        importlib.import_module(module.name)
    from deployer.aws import session as aws_session

    loader = aws_session.shared_loader()
    for service in SERVICES:
        for kind in ("service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2"):
            try:
                loader.load_service_model(service, kind)
            except Exception:  # noqa: BLE001 - a service without waiters, say
                pass
    import typer._adapters  # noqa: F401 - typer converts option values through pydantic, imported at first parse

    # What deployer imports inside functions (start-up only pays for what a command uses): the
    # config's YAML, the console's rich, the guardrails' JSON Schema, the templates' Jinja, Docker.
    for name in LAZY_IMPORTS:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional one not installed: the command imports it, or says it is missing
            pass

    # A session and a client of each service, as deployer makes them: imports boto3's and botocore's
    # lazily imported parts (retries, credentials, endpoint rules). No request is sent.
    aws = aws_session.Aws(region="us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "zygote")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "zygote")
    for service in SERVICES:
        aws.client(service)
        aws.client(service, attempts=1, timeout=5)
    del aws
    # What was built here stays for every child: out of the collector's sight, a child's first full
    # collection does not walk (and copy, page by page) the whole inherited heap.
    gc.collect()
    gc.freeze()


def _handle(conn: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # this handler waits for its command
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(1 << 20)
        if not chunk:
            return
        data += chunk
    request = json.loads(data)
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:
        _command(request, out.fileno(), err.fileno())  # never returns
    deadline = time.monotonic() + float(request["timeout"])
    timed_out, status = False, 0
    pidfd = os.pidfd_open(pid)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            break
        ready, _, _ = select.select([pidfd], [], [], remaining)
        if ready:
            _, status, usage = os.wait4(pid, 0)
            break
    os.close(pidfd)
    # wait4's usage is the command's and that of every process it waited for (its renderer): CPU seconds,
    # and the peak resident set of any of them.
    answer = {"code": os.waitstatus_to_exitcode(status), "timeout": timed_out, "maxrss_kib": usage.ru_maxrss,
              "cpu": round(usage.ru_utime + usage.ru_stime, 3)}
    for name, handle in (("stdout", out), ("stderr", err)):
        handle.seek(0)
        answer[name] = handle.read().hex()
    conn.sendall(json.dumps(answer).encode() + b"\n")
    conn.close()


def _command(request: dict, out: int, err: int) -> None:
    """In the command's process: what `python -m deployer ARGS` would have been given, then main()."""
    try:
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as Python starts: Ctrl-C is KeyboardInterrupt
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as Python starts
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None  # chosen again from this command's TMPDIR, not the one a parent looked up
        sys.argv = [str(ROOT / "deployer" / "__main__.py"), *request["args"]]
        from deployer.cli.app import main

        main()  # ends the process with os._exit(code)
    except BaseException:  # noqa: BLE001 - main() catches everything; this is the zygote's own bug
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)
