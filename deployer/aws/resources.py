"""Read-only lookups of the resources a service uses: ECS clusters, EC2 subnets and security groups,
ELB target groups and listener rules, IAM roles and their policies, Lambda functions, CloudWatch
alarms and log groups, SSM parameters and Secrets Manager secrets (their existence), Cloud Map
namespaces, Application Auto Scaling targets.

Plain data back. Errors are AWS's own (botocore's), untranslated: the pre-flight checks report
them as their finding ("AccessDenied: ..."), and callers that only look on the way treat them as
"cannot tell".
"""

from __future__ import annotations


def clusters(aws, names: list[str]) -> list[dict]:
    return aws.client("ecs").describe_clusters(clusters=names).get("clusters", [])


def subnet_ids(aws, ids: list[str]) -> set[str]:
    """Those of the subnets that exist."""
    return {s["SubnetId"] for s in aws.client("ec2").describe_subnets(Filters=[{"Name": "subnet-id", "Values": ids}])["Subnets"]}


def security_group_ids(aws, ids: list[str]) -> set[str]:
    """Those of the security groups that exist."""
    found = aws.client("ec2").describe_security_groups(Filters=[{"Name": "group-id", "Values": ids}])["SecurityGroups"]
    return {g["GroupId"] for g in found}


def target_groups(aws, arns: list[str]) -> list[dict]:
    return aws.client("elbv2").describe_target_groups(TargetGroupArns=arns)["TargetGroups"]


def target_group_attributes(aws, arn: str) -> dict[str, str]:
    return {a["Key"]: a["Value"] for a in aws.client("elbv2").describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}


def listener_rules(aws, arns: list[str]) -> list[dict]:
    return aws.client("elbv2").describe_rules(RuleArns=arns)["Rules"]


def role(aws, name: str) -> dict:
    """The IAM role (RoleName, Arn, AssumeRolePolicyDocument...)."""
    return aws.client("iam").get_role(RoleName=name)["Role"]


def role_policy_documents(aws, role_name: str) -> list:
    """The documents of the role's inline and attached policies (an attached one that cannot be read is left out)."""
    iam = aws.client("iam")
    documents = [iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
                 for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]]
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        try:
            version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
            documents.append(iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"])
        except Exception:  # noqa: BLE001 - an AWS-managed policy we cannot read grants nothing we can prove
            continue
    return documents


def lambda_function(aws, name: str) -> dict:
    return aws.client("lambda").get_function(FunctionName=name)


def log_group_names(aws, prefix: str, *, region: str | None = None) -> list[str]:
    """The log groups whose names start with prefix, in region (a container's awslogs-region), else the session's."""
    client = aws.client("logs", region=region)
    return [g["logGroupName"] for g in client.describe_log_groups(logGroupNamePrefix=prefix).get("logGroups", [])]


def metric_alarms(aws, names: list[str]) -> list[dict]:
    return aws.client("cloudwatch").describe_alarms(AlarmNames=names).get("MetricAlarms", [])


def parameter_exists(aws, name: str) -> None:
    """GetParameter (not decrypted): returns when it exists, raises AWS's error otherwise."""
    aws.client("ssm").get_parameter(Name=name)


def secret_exists(aws, secret_id: str) -> None:
    """DescribeSecret: returns when it exists, raises AWS's error otherwise."""
    aws.client("secretsmanager").describe_secret(SecretId=secret_id)


def namespace(aws, namespace_id: str) -> dict:
    """A Cloud Map namespace (Arn, Name, Properties)."""
    return aws.client("servicediscovery").get_namespace(Id=namespace_id)["Namespace"]


def scalable_targets(aws, cluster: str, service: str) -> list[dict]:
    """Application Auto Scaling's targets on the service's DesiredCount."""
    return aws.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[f"service/{cluster}/{service}"], ScalableDimension="ecs:service:DesiredCount"
    ).get("ScalableTargets", [])


def s3_object(aws, bucket: str, key: str, *, max_bytes: int) -> bytes:
    """An S3 object's bytes (GetObject), at most max_bytes; AWS's own errors for the caller to judge."""
    body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    data = body.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"s3://{bucket}/{key} is larger than {max_bytes} bytes")
    return data


def cloudformation_export(aws, name: str) -> str | None:
    """The value of a CloudFormation export (ListExports, all pages), or None when there is none."""
    for page in aws.client("cloudformation").get_paginator("list_exports").paginate():
        for export in page.get("Exports", []):
            if export.get("Name") == name:
                return export.get("Value")
    return None
