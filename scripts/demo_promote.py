"""`make demo-promote`: build once, promote across accounts, against the local AWS (no Docker needed).

Three accounts in one local AWS, as the Proton model had them: the management account (the caller's,
123456789012) holds the ECR repository; staging (222222222222) and prod (333333333333) each have their
own environment stack, cluster and service, reached through a `deployer-release` role in the account.

1. `deployer env --all`: each environment, its account (STS under its role), region and stack;
2. an image registered in the management account's repository (ECR PutImage stands in for the push
   `deployer release` does), released to staging: `deployer deploy --env staging --image repo@sha256:…`;
3. a newer image pushed meanwhile; `deployer promote --from staging --to prod` takes the digest staging
   runs and proved healthy — not the newest — and releases it to prod; nothing is built or pushed;
4. `deployer status --env prod` and the revision's `deployer:promoted-from` tag.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from demo import app_checkout, deployer, say  # noqa: E402  (the same narration as `make demo`)
from tests.conftest import git  # noqa: E402
from tests.e2e import multi_account  # noqa: E402
from tests.localaws import LocalAws  # noqa: E402


class Checkout:
    def __init__(self, path: Path):
        self.path = path

    def commit(self, message: str) -> None:
        git(self.path, "add", "-A")
        git(self.path, "commit", "-qm", message)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="deployer-promote-"))
    try:
        say("Starting the local AWS: the management account, staging (222222222222) and prod (333333333333)")
        with LocalAws(tick=0.2) as aws:
            app_dir = app_checkout(work, "web")
            accounts = multi_account.setup(aws, Checkout(app_dir))
            print(f"repository {accounts.repository} (management account)")
            for name, (stack, _) in accounts.stacks.items():
                print(f"{name}: stack {stack} in account {multi_account.ACCOUNTS[name]}")
            print((app_dir / "deployer.yaml").read_text())
            env = {**os.environ, **aws.env()}
            env.pop("DEPLOYER_ENV", None)
            if deployer(app_dir, env, "env", "--all") != 0:
                return 1

            say("Without --env, deployer never picks an environment (exit 2)")
            if deployer(app_dir, env, "status") != 2:
                return 1

            say("Release 1.0.0 to staging (the image registered in the management account's repository)")
            digest = accounts.push("1.0.0")
            if deployer(app_dir, env, "deploy", "--env", "staging", "--image", f"{accounts.repository}@{digest}") != 0:
                return 1

            say("A newer image is pushed meanwhile; promote takes what staging runs, proved healthy")
            accounts.push("2.0.0")
            if deployer(app_dir, env, "promote", "--from", "staging", "--to", "prod", "--yes") != 0:
                return 1
            if deployer(app_dir, env, "status", "--env", "prod") != 0:
                return 1
            ecs = accounts.client("prod", "ecs")
            arn = ecs.describe_services(cluster=accounts.cluster("prod"), services=["web"])["services"][0]["taskDefinition"]
            tags = {t["key"]: t["value"] for t in ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])["tags"]}
            print(f"{arn}\n  deployer:promoted-from = {tags.get('deployer:promoted-from')}\n  deployer:image = {tags.get('deployer:image')}")
            if tags.get("deployer:image") != f"{accounts.repository}@{digest}":
                print("prod does not run staging's digest", file=sys.stderr)
                return 1
            say("Done: one image, released to staging, promoted to prod by digest")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
