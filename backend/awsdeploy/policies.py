"""IAM documents for the deployment: who may assume the roles, and the least each role may do.

The input bucket may send its object events to MPR's queue (`bucket_events_queue`) and nobody
else may. The Lambda reads the input bucket and writes the output bucket, reads, writes and deletes the
chunked jobs' work area `_chunks/` there (plus its own logs); Step Functions may only invoke the
FFmpeg function. Plain dicts, compared as dicts to decide "unchanged".
"""
from __future__ import annotations


def trust(service: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }


def lambda_access(in_bucket: str, out_bucket: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadInput",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{in_bucket}/*"],
            },
            {
                "Sid": "WriteOutput",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                "Resource": [f"arn:aws:s3:::{out_bucket}/*"],
            },
            {
                "Sid": "ChunkWorkArea",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": [f"arn:aws:s3:::{out_bucket}/_chunks/*"],
            },
            {
                "Sid": "ListBuckets",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{in_bucket}", f"arn:aws:s3:::{out_bucket}"],
            },
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": ["*"],
            },
        ],
    }


def sfn_access(function_arn: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "InvokeFFmpeg",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": [function_arn, f"{function_arn}:*"],
            }
        ],
    }


def bucket_events_queue(queue_arn: str, bucket: str) -> dict:
    """The events queue's policy: only S3, and only for the input bucket, may send to it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "InputBucketEvents",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}},
            }
        ],
    }
