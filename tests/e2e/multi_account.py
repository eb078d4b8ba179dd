"""Three accounts in one local AWS, as the Proton model had them: the management account (moto's
default, the caller's) holds the ECR repository; staging and prod each have their own stack, cluster
and service, reached through a role in their account. Shared by the environments and promote tests."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from tests.localaws.platform import MANAGEMENT_ACCOUNT, account_client, create_environment

STAGING, PROD = "222222222222", "333333333333"
ACCOUNTS = {"staging": STAGING, "prod": PROD}
ROLE = "deployer-release"
REPOSITORY = "web"


@dataclass
class Accounts:
    endpoint: str
    stacks: dict  # env -> (stack name, outputs)
    repository: str  # the management account's repository URI

    def client(self, env: str, service: str):
        return account_client(self.endpoint, service, ACCOUNTS.get(env, MANAGEMENT_ACCOUNT))

    def cluster(self, env: str) -> str:
        return self.stacks[env][1]["ClusterName"]

    def state(self, env: str, service: str = "web") -> dict:
        """What runs and what is registered in env's account (compare two to say: untouched)."""
        ecs = self.client(env, "ecs")
        described = ecs.describe_services(cluster=self.cluster(env), services=[service])["services"]
        live = [s for s in described if s.get("status") != "INACTIVE"]
        return {
            "task_definitions": sorted(ecs.list_task_definitions()["taskDefinitionArns"]),
            "service_task_definition": live[0]["taskDefinition"] if live else None,
            "deployments": [d["id"] for d in live[0]["deployments"]] if live else [],
        }

    def push(self, tag: str) -> str:
        """Register an image (a manifest, no layers pulled) in the management account's repository: its digest."""
        # An index that names its platform: the pre-flight reads it from the manifest alone (moto serves no blobs).
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 2,
                           "digest": "sha256:" + hashlib.sha256(tag.encode()).hexdigest(),
                           "platform": {"os": "linux", "architecture": "amd64"}}],
        })
        digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
        account_client(self.endpoint, "ecr").put_image(repositoryName=REPOSITORY, imageManifest=manifest, imageManifestMediaType="application/vnd.oci.image.index.v1+json", imageTag=tag, imageDigest=digest)
        return digest


def setup(aws, app, *, prod_extra: str = "") -> Accounts:
    """The repository in the management account, a stack per environment account, and deployer.yaml with `environments:`."""
    ecr = account_client(aws.endpoint, "ecr")
    repository = ecr.create_repository(repositoryName=REPOSITORY)["repository"]["repositoryUri"]
    # As the admins set it up: the repository policy lets each environment's account pull.
    ecr.set_repository_policy(repositoryName=REPOSITORY, policyText=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "AllowPullFromEnvironments", "Effect": "Allow",
        "Principal": {"AWS": [f"arn:aws:iam::{account}:root" for account in ACCOUNTS.values()]},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]}]}))
    stacks = {env: create_environment(aws.endpoint, env=env, account=account) for env, account in ACCOUNTS.items()}
    app.path.joinpath("deployer.yaml").write_text(f"""\
app: web
region: us-east-1
environment:                # shared by every environment
  outputs:
    cluster: ClusterName
    subnets: [PrivateSubnet1, PrivateSubnet2]
    security_groups: [ServiceSecurityGroup]
    target_group: TargetGroupArn
image:
  context: .
  repository: {repository}   # the management account's: every environment pulls from it
environments:
  staging:
    stack: {stacks['staging'][0]}
    role_arn: arn:aws:iam::{STAGING}:role/{ROLE}
    account: "{STAGING}"
  prod:
    stack: {stacks['prod'][0]}
    role_arn: arn:aws:iam::{PROD}:role/{ROLE}
    account: "{PROD}"
{prod_extra}task_definition: ecs-task-def.json.j2
service:
  name: web
  definition: ecs-service-def.json.j2
  container: app
  port: 8080
deploy:
  timeout: 300
vars:
  replicas: 2
  log_level: info
""")
    app.commit("environments")
    return Accounts(aws.endpoint, stacks, repository)
