"""Least-privilege IAM policy documents for batch inference."""

from __future__ import annotations

from typing import Any

from . import _core

__all__ = ["caller_policy", "role_policy", "trust_policy"]


def _bucket_and_prefix(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an S3 URI")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.rstrip("/")


def trust_policy(*, account_id: str | None = None, region: str | None = None) -> dict[str, Any]:
    """The service role's trust policy: bedrock.amazonaws.com may assume it (for batch jobs of
    ``account_id`` in ``region``, when given, against the confused-deputy problem)."""
    stmt: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "bedrock.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    if account_id:
        cond: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account_id}}
        if region:
            cond["ArnEquals"] = {
                "aws:SourceArn": f"arn:aws:bedrock:{region}:{account_id}:model-invocation-job/*"
            }
        stmt["Condition"] = cond
    return {"Version": "2012-10-17", "Statement": [stmt]}


def _model_arns(model: str, regions: list[str], account_id: str | None) -> list[str]:
    base = _core.model_info(model)["base_model"]
    arns = [f"arn:aws:bedrock:{r}::foundation-model/{base}" for r in regions]
    if base != model.rsplit("/", 1)[-1]:  # an inference profile: allow it too
        profile = model.rsplit("/", 1)[-1]
        arns += [
            f"arn:aws:bedrock:{r}:{account_id or '*'}:inference-profile/{profile}" for r in regions
        ]
    return arns


def role_policy(
    *,
    input_uri: str,
    output_uri: str,
    model: str,
    regions: list[str],
    account_id: str | None = None,
) -> dict[str, Any]:
    """What the job's service role needs: read the input prefix, write the output prefix, and
    bedrock:InvokeModel on the model in every region an inference profile may route to."""
    ib, ip = _bucket_and_prefix(input_uri)
    ob, op = _bucket_and_prefix(output_uri)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": sorted(
                    {
                        f"arn:aws:s3:::{ib}",
                        f"arn:aws:s3:::{ib}/{ip}/*" if ip else f"arn:aws:s3:::{ib}/*",
                    }
                ),
            },
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:ListBucket"],
                "Resource": sorted(
                    {
                        f"arn:aws:s3:::{ob}",
                        f"arn:aws:s3:::{ob}/{op}/*" if op else f"arn:aws:s3:::{ob}/*",
                    }
                ),
            },
            {
                "Effect": "Allow",
                "Action": ["bedrock:InvokeModel"],
                "Resource": _model_arns(model, regions, account_id),
            },
        ],
    }


def caller_policy(*, role_arn: str, region: str = "*", account_id: str = "*") -> dict[str, Any]:
    """What the caller (this library's user) needs: create, get, list and stop batch jobs, and
    iam:PassRole on the job's role to Bedrock."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "bedrock:CreateModelInvocationJob",
                    "bedrock:GetModelInvocationJob",
                    "bedrock:ListModelInvocationJobs",
                    "bedrock:StopModelInvocationJob",
                ],
                "Resource": "*"
                if region == "*"
                else [f"arn:aws:bedrock:{region}:{account_id}:model-invocation-job/*", "*"],
            },
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            },
        ],
    }
