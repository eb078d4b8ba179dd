"""An environment's session: its role's credentials refreshed by botocore before they expire (a watch
can outlive the hour an AssumeRole answer lasts), with the session name deployer-<app>-<env>."""

from datetime import datetime, timedelta, timezone

import boto3
from botocore.credentials import AssumeRoleCredentialFetcher, RefreshableCredentials

from deployer.aws import session as aws_session


def test_assumed_credentials_are_refreshed_before_they_expire(monkeypatch):
    calls = []

    def fetch(self):
        calls.append(self._role_arn)
        soon = datetime.now(timezone.utc) + (timedelta(seconds=30) if len(calls) == 1 else timedelta(hours=1))
        return {"access_key": f"AKIA{len(calls)}", "secret_key": "s", "token": "t", "expiry_time": soon.isoformat()}

    monkeypatch.setattr(AssumeRoleCredentialFetcher, "fetch_credentials", fetch)
    caller = boto3.Session(aws_access_key_id="caller", aws_secret_access_key="x", region_name="us-east-1")
    assumed = aws_session._assumed_session(caller, "arn:aws:iam::222222222222:role/deployer-release", "deployer-web-staging", "eu-west-1")
    credentials = assumed.get_credentials()
    assert isinstance(credentials, RefreshableCredentials)
    assert assumed.region_name == "eu-west-1"
    assert calls == ["arn:aws:iam::222222222222:role/deployer-release"]  # assumed at once: a bad role fails first
    # 30 seconds left is inside botocore's refresh window: the next use assumes the role again.
    assert credentials.get_frozen_credentials().access_key == "AKIA2"
    assert len(calls) == 2


def test_the_session_name_is_given_to_assume_role(monkeypatch):
    seen = {}

    def fetch(self):
        seen.update(self._assume_kwargs)
        return {"access_key": "a", "secret_key": "s", "token": "t",
                "expiry_time": (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()}

    monkeypatch.setattr(AssumeRoleCredentialFetcher, "fetch_credentials", fetch)
    caller = boto3.Session(aws_access_key_id="caller", aws_secret_access_key="x", region_name="us-east-1")
    fetcher_kwargs = {}
    original = AssumeRoleCredentialFetcher.__init__

    def init(self, *args, **kwargs):
        fetcher_kwargs.update(kwargs)
        original(self, *args, **kwargs)
        self._assume_kwargs = kwargs["extra_args"]

    monkeypatch.setattr(AssumeRoleCredentialFetcher, "__init__", init)
    aws_session._assumed_session(caller, "arn:aws:iam::333333333333:role/deployer-release", aws_session.session_name("deployer", "web", "prod"))
    assert seen == {"RoleSessionName": "deployer-web-prod"}
    assert fetcher_kwargs["role_arn"] == "arn:aws:iam::333333333333:role/deployer-release"


def test_a_client_of_the_sessions_own_region_is_the_sessions_client(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    aws = aws_session.Aws(region="eu-west-1")
    logs = aws.client("logs")
    assert aws.client("logs", region="eu-west-1") is logs and aws.client("logs", region=None) is logs
    other = aws.client("logs", region="us-west-2")
    assert other is not logs and other.meta.region_name == "us-west-2"
