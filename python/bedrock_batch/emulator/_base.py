"""What a caller needs to talk to an emulator, in this process or in its own: the environment,
clients, a bucket and a role ARN. Shared by :class:`Emulator` and :class:`EmulatorProcess`."""

from __future__ import annotations

from typing import Any

ACCOUNT = "123456789012"
STATS_PATH = "/_emulator/stats"
"""Where the emulator reports what it served (``GET``, unsigned, loopback only)."""


class EmulatorClients:
    """Client helpers over ``endpoint_url`` and ``region`` (both set by the subclass)."""

    region: str

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``: S3, the Bedrock control plane and the Bedrock runtime."""
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        """What the emulator served (see :meth:`bedrock_batch.emulator.Emulator.stats`), read
        from ``GET /_emulator/stats``."""
        import json
        import urllib.request

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
        with opener.open(self.endpoint_url + STATS_PATH, timeout=10) as resp:
            return dict(json.load(resp))

    def env(self) -> dict[str, str]:
        """Environment variables that point any AWS SDK here (fake credentials)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def client(self) -> Any:
        """A :class:`bedrock_batch.Client` talking to this emulator over HTTP."""
        from ..aws import Client

        return Client(
            region=self.region, endpoint_url=self.endpoint_url, _credentials=("testing", "testing")
        )

    def boto3_client(self, service: str, *, retries: int = 1) -> Any:
        """A boto3 client (``"s3"``, ``"bedrock"`` or ``"bedrock-runtime"``) for this emulator,
        signing with SigV4 and the fake credentials, retrying ``retries`` times at most."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": retries, "mode": "standard"},
                # bedrock-runtime also takes bearer API keys: a key in the environment
                # (AWS_BEARER_TOKEN_BEDROCK) must not replace the signature the emulator routes by.
                signature_version="v4" if service != "s3" else None,
            ),
        )

    def create_bucket(self, name: str) -> None:
        """Creates an S3 bucket in the emulator's region."""
        extra: dict[str, Any] = {}
        if self.region != "us-east-1":  # S3 wants the region named everywhere else
            extra["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        self.boto3_client("s3").create_bucket(Bucket=name, **extra)

    def role_arn(self, name: str = "BedrockBatchRole") -> str:
        """An IAM role ARN in the emulator's account (a name holding one of the emulator's
        ``deny_roles``, by default ``NoPassRole``, is refused as a missing iam:PassRole is)."""
        return f"arn:aws:iam::{ACCOUNT}:role/{name}"
