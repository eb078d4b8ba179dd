"""`deployer iam-policy`: the least-privilege IAM policy the release role (CodeBuild's, say) needs.

Built from deployer.yaml and the environment's outputs, so every resource is named: one ECR
repository, the task-definition families, the services, the roles passed to ECS, the stack.
"""

from __future__ import annotations

from .. import strategies
from ..render import render_service

ECR_PUSH = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]


def iam_policy(run) -> dict:
    env = run.environment
    region, account = run.aws.region, run.aws.account_id()
    partition = "aws"
    repo_name = env.repository.split("/", 1)[1] if "/" in env.repository else env.repository
    cluster_arn = f"arn:{partition}:ecs:{region}:{account}:cluster/{env.cluster}"
    services = run.services(None)
    service_arns = [f"arn:{partition}:ecs:{region}:{account}:service/{env.cluster}/{s.name}" for s in services]
    family_arns = [f"arn:{partition}:ecs:{region}:{account}:task-definition/{s.family}:*" for s in services]
    roles, log_groups, rendered_all = set(), set(), []
    for svc in services:
        rendered_all.append(render_service(run, svc, f"{env.repository}:policy"))
        td = rendered_all[-1].task_definition
        roles |= {td[k] for k in ("executionRoleArn", "taskRoleArn") if td.get(k)}
        for container in td["containerDefinitions"]:
            group = ((container.get("logConfiguration") or {}).get("options") or {}).get("awslogs-group")
            if group:
                log_groups.add(f"arn:{partition}:logs:{region}:{account}:log-group:{group}:*")
    stack_resource = f"arn:{partition}:cloudformation:{region}:{account}:stack/{env.stack or env.name}/*"
    statements = [
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "EcrPushOneRepository", "Effect": "Allow", "Action": ECR_PUSH, "Resource": f"arn:{partition}:ecr:{region}:{account}:repository/{repo_name}"},
        # RegisterTaskDefinition and the List/Describe calls do not support resource-level permissions.
        {"Sid": "EcsTaskDefinitions", "Effect": "Allow", "Action": ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:DeregisterTaskDefinition"], "Resource": "*"},
        {"Sid": "EcsTagRevisions", "Effect": "Allow", "Action": ["ecs:TagResource"], "Resource": family_arns},
        {"Sid": "EcsServices", "Effect": "Allow", "Action": ["ecs:DescribeServices", "ecs:UpdateService", "ecs:CreateService"], "Resource": service_arns},
        {"Sid": "EcsReadCluster", "Effect": "Allow", "Action": ["ecs:DescribeClusters", "ecs:ListTasks", "ecs:DescribeTasks"], "Resource": "*", "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn}}},
        {"Sid": "EnvironmentOutputs", "Effect": "Allow", "Action": ["cloudformation:DescribeStacks"], "Resource": stack_resource},
    ]
    if env.source == "proton":
        statements.append({"Sid": "FindProtonStack", "Effect": "Allow", "Action": ["cloudformation:ListStacks"], "Resource": "*"})
    if roles:
        statements.append({"Sid": "PassTaskRoles", "Effect": "Allow", "Action": "iam:PassRole", "Resource": sorted(roles), "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}})
    if log_groups:
        statements.append({"Sid": "ReadFailedTaskLogs", "Effect": "Allow", "Action": ["logs:GetLogEvents"], "Resource": sorted(log_groups)})
    statements.append({"Sid": "PreflightReads", "Effect": "Allow", "Action": ["elasticloadbalancing:DescribeTargetGroups", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "logs:DescribeLogGroups"], "Resource": "*"})
    statements += strategies.iam_statements(rendered_all, service_arns)  # blue/green, linear, canary
    return {"Version": "2012-10-17", "Statement": statements}


def text(run, result: dict) -> str:
    import json

    return json.dumps(result, indent=2)
