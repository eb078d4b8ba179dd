"""python -m tests.localaws serve [--port 4566] [--tick 0.5] ...
python -m tests.localaws platform --endpoint URL --env prod [--name NAME] [--input k=v]"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .server import LocalAws


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.localaws", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the emulator in the foreground")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=4566)
    serve.add_argument("--tick", type=float, default=0.5, help="seconds between rollout steps")
    serve.add_argument("--tasks-per-tick", type=int, default=1)
    serve.add_argument("--circuit-breaker-threshold", type=int, default=None,
                       help="failed tasks that trip the breaker (default: ECS's rule)")
    serve.add_argument("--fault-rate", type=float, default=0.0)
    serve.add_argument("--fault-kinds", default="throttle", help="comma list of throttle,error500,drop")
    serve.add_argument("--seed", type=int, default=None)
    serve.add_argument("--broken", action="append", default=[],
                       help="glob over family:revision / ARN / image whose tasks fail (repeatable)")

    plat = sub.add_parser("platform", help="create the admins' environment stack in a running emulator")
    plat.add_argument("--endpoint", default="http://127.0.0.1:4566")
    plat.add_argument("--env", default="prod")
    plat.add_argument("--name", default=None, help="stack name (default: Proton-style random name)")
    plat.add_argument("--input", action="append", default=[], metavar="K=V",
                      help="override a schema default (value parsed as JSON when it can be)")
    plat.add_argument("--outputs", action="store_true", help="also print the outputs as JSON")

    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve_forever(args)
    return platform(args)


def serve_forever(args: argparse.Namespace) -> int:
    aws = LocalAws(tick=args.tick, port=args.port, host=args.host,
                   tasks_per_tick=args.tasks_per_tick,
                   circuit_breaker_threshold=args.circuit_breaker_threshold,
                   fault_rate=args.fault_rate, seed=args.seed,
                   fault_kinds=[k for k in args.fault_kinds.split(",") if k],
                   broken=args.broken)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    aws.start()
    print(f"localaws ready on {aws.endpoint}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        aws.stop()
    return 0


def platform(args: argparse.Namespace) -> int:
    from .platform import create_environment

    inputs = {}
    for item in args.input:
        key, _, value = item.partition("=")
        try:
            inputs[key] = json.loads(value)
        except ValueError:
            inputs[key] = value
    name, outputs = create_environment(args.endpoint, args.env, inputs, args.name)
    print(name)
    if args.outputs:
        print(json.dumps(outputs, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
