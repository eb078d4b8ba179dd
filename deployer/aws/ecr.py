"""ECR: one repository's images, tags and login, in the repository's own region."""

from __future__ import annotations

import base64
from typing import Iterator

from .session import error_code, translate_errors

QUICK_TIMEOUT = 5.0  # seconds: connect and read timeout of a quick (one-attempt) call


class Ecr:
    def __init__(self, aws, *, region: str | None, account: str | None, repository: str, shown: str, quick: bool = False):
        self.aws = aws
        # quick: one short attempt (a check that only warns when it cannot read costs no time)
        self.quick = quick
        self.region = region  # ECR is regional: the repository's own (Aws.client: None or the session's is the session's)
        self.account = account
        self.repository = repository
        self.shown = shown  # the repository's URI, for messages

    @property
    def client(self):
        if self.quick:
            return self.aws.client("ecr", region=self.region, attempts=1, timeout=QUICK_TIMEOUT)
        return self.aws.client("ecr", region=self.region)

    def _ids(self) -> dict:
        return {"registryId": self.account, "repositoryName": self.repository}

    def digest(self, tag: str) -> str | None:
        """The digest ECR holds for tag, or None when the tag is not there."""
        with translate_errors(f"looking up {self.shown}:{tag} in ECR"):
            try:
                found = self.client.describe_images(**self._ids(), imageIds=[{"imageTag": tag}])
            except Exception as exc:
                if error_code(exc) == "ImageNotFoundException":
                    return None
                raise
        details = found.get("imageDetails") or []
        return details[0]["imageDigest"] if details else None

    def image_exists(self, reference: str) -> bool | None:
        """DescribeImages of a tag or sha256 digest: True when the image is there, False when it is not,
        None when the repository itself is not (RepositoryNotFoundException). Other refusals raise (ExternalError)."""
        image_id = {"imageDigest": reference} if reference.startswith("sha256:") else {"imageTag": reference}
        with translate_errors(f"looking up {self.shown}{'@' if 'imageDigest' in image_id else ':'}{reference} in ECR (ecr DescribeImages)"):
            try:
                found = self.client.describe_images(**self._ids(), imageIds=[image_id])
            except Exception as exc:
                if error_code(exc) == "ImageNotFoundException":
                    return False
                if error_code(exc) == "RepositoryNotFoundException":
                    return None
                raise
        return bool(found.get("imageDetails"))

    def policy(self) -> str | None:
        """The repository policy's text (GetRepositoryPolicy), or None when the repository has none.
        RepositoryNotFound and refusals are ExternalErrors (error_code of __cause__ tells them apart)."""
        with translate_errors(f"reading the repository policy of {self.shown} (ecr GetRepositoryPolicy)"):
            try:
                return self.client.get_repository_policy(**self._ids()).get("policyText")
            except Exception as exc:
                if error_code(exc) == "RepositoryPolicyNotFoundException":
                    return None
                raise

    def login(self) -> tuple[str, str]:
        """(user, password) from an ECR authorization token."""
        with translate_errors("getting an ECR login token (ecr GetAuthorizationToken)"):
            data = self.client.get_authorization_token()["authorizationData"][0]
        user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        return user, password

    def put_image(self, tag: str, manifest: str, media_type: str, digest: str, *, doing: str) -> None:
        """PutImage (imageDigest given); a tag that has that image already is no error."""
        with translate_errors(doing):
            try:
                self.client.put_image(repositoryName=self.repository, imageManifest=manifest, imageManifestMediaType=media_type,
                                      imageTag=tag, imageDigest=digest)
            except Exception as exc:
                if error_code(exc) != "ImageAlreadyExistsException":
                    raise

    def manifests(self, image_id: dict, media_types: list[str], *, doing: str) -> list[dict]:
        """BatchGetImage: the images found (imageManifest...), [] when none."""
        with translate_errors(doing):
            return self.client.batch_get_image(**self._ids(), imageIds=[image_id], acceptedMediaTypes=media_types).get("images") or []

    def layer_url(self, digest: str, *, doing: str) -> str:
        with translate_errors(doing):
            return self.client.get_download_url_for_layer(**self._ids(), layerDigest=digest)["downloadUrl"]

    def tagged_image_pages(self, *, doing: str) -> Iterator[list[dict]]:
        """DescribeImages of the tagged images, a page (its imageDetails) at a time."""
        with translate_errors(doing):
            for page in self.client.get_paginator("describe_images").paginate(**self._ids(), filter={"tagStatus": "TAGGED"}):
                yield page.get("imageDetails", [])
