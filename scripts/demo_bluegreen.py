"""`make demo-bluegreen`: a native ECS blue/green release of examples/app against the local AWS.

No Docker needed: `deployer deploy --image` deploys images by reference (each is put in the local ECR
first, as an image index: deploy checks that the image exists before any write). The local AWS walks the
lifecycle stages (scale-up, test traffic, production traffic, bake, clean-up) and moves the weights
of the admins' listener rules; one emulator minute lasts 2 seconds here.

1. the first release creates the service with `deploymentConfiguration.strategy: BLUE_GREEN` and the
   traffic pieces from the environment (alternate target group, listener rules, ECS's role);
2. a blue/green release: green next to blue, traffic shifted, baked, blue removed;
3. a release that returns once production traffic is on green (`--wait-until traffic-shifted`),
   then `deployer rollback` during the bake (StopServiceDeployment: traffic back on blue at once);
4. a canary release (10 %, a bake, the rest), paused by a PAUSE hook, then `deployer continue`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from demo import app_checkout, deployer, say  # noqa: E402  (the same narration as `make demo`)
from tests.conftest import push_image  # noqa: E402  (an image index put in the local ECR: what a push leaves)
from tests.localaws import LocalAws  # noqa: E402
from tests.localaws.platform import create_environment  # noqa: E402


def service_definition(app_dir: Path, config: dict) -> None:
    definition = {"desiredCount": 2, "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}, **config}}
    (app_dir / "ecs-service-def.json.j2").write_text(json.dumps(definition, indent=2) + "\n")
    print(f"ecs-service-def.json.j2: deploymentConfiguration = {json.dumps(definition['deploymentConfiguration'])}")


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="deployer-bluegreen-"))
    try:
        say("Starting the local AWS (moto + ECS rollouts, blue/green, linear, canary)")
        with LocalAws(tick=0.2, strategy_minute_seconds=2.0) as aws:
            stack, outputs = create_environment(aws.endpoint, env="demo")
            print(f"stack {stack}")
            for key in ("TargetGroupArn", "AlternateTargetGroupArn", "ProductionListenerRuleArn", "TestListenerRuleArn", "EcsInfrastructureRoleArn"):
                print(f"  {key} = {outputs[key]}")
            app_dir = app_checkout(work, "web")
            env = {**os.environ, **aws.env()}
            repo = outputs["EcrRepositoryUri"]
            for tag in ("1.0.0", "1.1.0", "1.2.0", "1.3.0"):
                push_image(aws.endpoint, repo.split("/", 1)[1], tag)

            say("Release 1: the service, created for blue/green (bake time 2 minutes = 4 s here)")
            service_definition(app_dir, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 2})
            if deployer(app_dir, env, "deploy", "--image", f"{repo}:1.0.0") != 0:
                return 1
            say("Release 2: blue/green — green scales up, takes test then production traffic, bakes; blue goes")
            if deployer(app_dir, env, "deploy", "--image", f"{repo}:1.1.0") != 0:
                return 1
            say("Release 3: return once production traffic is on green; roll back during the bake")
            service_definition(app_dir, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 30})
            if deployer(app_dir, env, "deploy", "--image", f"{repo}:1.2.0", "--wait-until", "traffic-shifted") != 0:
                return 1
            if deployer(app_dir, env, "rollback", "--yes") != 0:
                return 1
            say("Release 4: canary (10 %, bake 1 minute, the rest), with a PAUSE hook after test traffic")
            service_definition(app_dir, {"strategy": "CANARY", "bakeTimeInMinutes": 1,
                                         "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 1},
                                         "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]})
            if deployer(app_dir, env, "deploy", "--image", f"{repo}:1.3.0") != 0:
                return 1
            if deployer(app_dir, env, "continue") != 0:
                return 1
            deployer(app_dir, env, "status")
            say("Done: blue/green, --wait-until, rollback during the bake, canary with a pause hook")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
