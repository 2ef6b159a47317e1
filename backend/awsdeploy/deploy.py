"""`mpr aws deploy`: create or update everything the AWS executor needs, idempotently.

Resources, in order: the input and output buckets (private), the input bucket's object events
(ObjectCreated/ObjectRemoved) sent to an SQS queue `{prefix}-input-events` with a dead-letter queue
`{prefix}-input-events-dlq` (MPR long-polls it: backend/jobs/bucket_events.py), a lifecycle rule on the output bucket
expiring chunked jobs' leftovers under `_chunks/` after a day, the Lambda's role (S3 in/out, the
`_chunks/` work area, logs), the FFmpeg Lambda (container image, 900 s, 3008 MB, 10 GiB /tmp,
MPR_CALLBACK_SECRET in its env), the Step Functions role (invoke that function only) and the four
state machines, `{prefix}-transcode` (sfn/transcode.asl.json, one Lambda run per job),
`{prefix}-transcode-chunked` (sfn/transcode-chunked.asl.json, chunks under a Map),
`{prefix}-transcode-ladder` (sfn/transcode-ladder.asl.json, an output template's renditions under a
Map, then the package) and `{prefix}-transcode-sequence` (sfn/transcode-sequence.asl.json, a
sequence's clips under a Map beside its audio, then the join), with the same role.
Each resource is compared with what exists and reported as "created", "updated" or "unchanged";
a second run with the same inputs changes nothing.
Talks to whatever endpoint `settings.aws_endpoint_url` / AWS_ENDPOINT_URL names (moto, LocalStack, AWS).
"""
from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import boto3
from botocore.exceptions import ClientError

from backend.awsdeploy import policies
from backend.config import REPO_ROOT, Settings

ASL_PATH = REPO_ROOT / "sfn" / "transcode.asl.json"
CHUNKED_ASL_PATH = REPO_ROOT / "sfn" / "transcode-chunked.asl.json"
LADDER_ASL_PATH = REPO_ROOT / "sfn" / "transcode-ladder.asl.json"
SEQUENCE_ASL_PATH = REPO_ROOT / "sfn" / "transcode-sequence.asl.json"
CHUNKS_PREFIX = "_chunks/"  # chunked jobs' intermediate objects in the output bucket (lambda/chunk_actions.py)
CHUNKS_EXPIRE_DAYS = 1
EVENTS_NOTIFICATION_ID = "mpr-input-events"
BUCKET_EVENTS = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
EVENTS_MAX_RECEIVES = 5  # a message MPR failed on this often goes to the dead-letter queue
EVENTS_VISIBILITY = 300  # seconds a received message stays hidden while MPR registers its object
EVENTS_RETENTION = 14 * 24 * 3600
CHUNKS_RULE_ID = "mpr-expire-chunks"
FUNCTION_ARN_PLACEHOLDER = "${FunctionArn}"

LAMBDA_TIMEOUT = 900  # Lambda's hard limit, seconds
LAMBDA_MEMORY = 3008  # MB; CPU share grows with memory, x264 uses it
LAMBDA_TMP = 10240  # MB of /tmp (the maximum)
ROLE_PROPAGATION_WAIT = 60.0  # a fresh IAM role may not be assumable by Lambda for a few seconds


class DeployError(Exception):
    pass


@dataclass(frozen=True)
class Names:
    prefix: str = "mpr"

    @property
    def function(self) -> str:
        return f"{self.prefix}-ffmpeg"

    @property
    def lambda_role(self) -> str:
        return f"{self.prefix}-ffmpeg-lambda"

    @property
    def sfn_role(self) -> str:
        return f"{self.prefix}-transcode-states"

    @property
    def state_machine(self) -> str:
        return f"{self.prefix}-transcode"

    @property
    def chunked_state_machine(self) -> str:
        return f"{self.prefix}-transcode-chunked"

    @property
    def ladder_state_machine(self) -> str:
        return f"{self.prefix}-transcode-ladder"

    @property
    def sequence_state_machine(self) -> str:
        return f"{self.prefix}-transcode-sequence"

    @property
    def events_queue(self) -> str:
        return f"{self.prefix}-input-events"

    @property
    def events_dlq(self) -> str:
        return f"{self.prefix}-input-events-dlq"

    access_policy: str = "mpr-access"


@dataclass
class Deployment:
    settings: dict[str, str]
    changes: dict[str, str] = field(default_factory=dict)  # "bucket mpr-media-in" -> created|updated|unchanged

    @property
    def changed(self) -> bool:
        return any(v != "unchanged" for v in self.changes.values())


def render_definition(function_arn: str, path: Path = ASL_PATH) -> str:
    """The state machine definition with the function ARN filled in (compact JSON)."""
    text = path.read_text()
    if FUNCTION_ARN_PLACEHOLDER not in text:
        raise DeployError(f"{path} has no {FUNCTION_ARN_PLACEHOLDER} placeholder")
    return json.dumps(json.loads(text.replace(FUNCTION_ARN_PLACEHOLDER, function_arn)), separators=(",", ":"))


def chunks_rule() -> dict:
    return {
        "ID": CHUNKS_RULE_ID,
        "Filter": {"Prefix": CHUNKS_PREFIX},
        "Status": "Enabled",
        "Expiration": {"Days": CHUNKS_EXPIRE_DAYS},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": CHUNKS_EXPIRE_DAYS},
    }


def _same_rule(current: dict, wanted: dict) -> bool:
    """Whether a rule read back from S3 says what `wanted` says (S3 may add empty fields)."""
    return all(current.get(k) == v for k, v in wanted.items())


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _as_dict(doc) -> dict:
    if isinstance(doc, str):
        from urllib.parse import unquote

        try:
            return json.loads(doc)
        except json.JSONDecodeError:
            return json.loads(unquote(doc))
    return doc


def _attr(name: str, value) -> object:
    """A queue attribute in a comparable form (SQS may answer a JSON number where we sent a string)."""
    if name in ("Policy", "RedrivePolicy"):
        doc = _as_dict(value or "{}")
        return {k: str(v) for k, v in doc.items()} if name == "RedrivePolicy" else doc
    return str(value)


class _Deployer:
    def __init__(self, settings: Settings, names: Names, log: Callable[[str], None], session=None):
        session = session or boto3.session.Session(region_name=settings.aws_region)
        kw = {"endpoint_url": settings.aws_endpoint_url} if settings.aws_endpoint_url else {}
        self.s3 = session.client("s3", **kw)
        self.iam = session.client("iam", **kw)
        self.lam = session.client("lambda", **kw)
        self.sfn = session.client("stepfunctions", **kw)
        self.sqs = session.client("sqs", **kw)
        self.region = session.region_name or settings.aws_region
        self.settings = settings
        self.names = names
        self.log = log
        self.changes: dict[str, str] = {}

    def _report(self, what: str, outcome: str) -> None:
        self.changes[what] = outcome
        self.log(f"  {what}: {outcome}")

    # -- buckets ---------------------------------------------------------------------------------
    def bucket(self, name: str) -> None:
        what = f"bucket {name}"
        try:
            self.s3.head_bucket(Bucket=name)
            outcome = "unchanged"
        except ClientError as exc:
            if _code(exc) in ("403", "AccessDenied", "Forbidden"):
                raise DeployError(f"bucket {name!r} exists but this account cannot use it; pick another name "
                                  "(MPR_S3_IN_BUCKET / MPR_S3_OUT_BUCKET)") from exc
            if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise
            kw = {}
            if self.region and self.region != "us-east-1":
                kw["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            self.s3.create_bucket(Bucket=name, **kw)
            outcome = "created"
        block = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                 "RestrictPublicBuckets": True}
        try:
            current = self.s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        except ClientError:
            current = None
        if current != block:
            self.s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
            outcome = "updated" if outcome == "unchanged" else outcome
        self._report(what, outcome)

    # -- bucket events -----------------------------------------------------------------------------
    def queue(self, name: str, attributes: dict[str, str]) -> tuple[str, str]:
        """Create the queue or bring its attributes to `attributes`; (url, arn)."""
        what = f"queue {name}"
        try:
            url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as exc:
            if "NonExistentQueue" not in _code(exc) and _code(exc) != "QueueDoesNotExist":
                raise
            url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            self._report(what, "created")
        else:
            current = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
            differs = {k: v for k, v in attributes.items() if _attr(k, current.get(k)) != _attr(k, v)}
            if differs:
                self.sqs.set_queue_attributes(QueueUrl=url, Attributes=differs)
            self._report(what, "updated" if differs else "unchanged")
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def bucket_events(self, bucket: str) -> str:
        """The DLQ, the events queue (S3 may send to it, failures go to the DLQ) and the input
        bucket's notification to it; returns the queue's URL."""
        _, dlq_arn = self.queue(self.names.events_dlq, {"MessageRetentionPeriod": str(EVENTS_RETENTION)})
        base = {"MessageRetentionPeriod": str(EVENTS_RETENTION), "VisibilityTimeout": str(EVENTS_VISIBILITY),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                             "maxReceiveCount": str(EVENTS_MAX_RECEIVES)})}
        url, arn = self.queue(self.names.events_queue, base)
        policy = json.dumps(policies.bucket_events_queue(arn, bucket))
        current = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
        if _as_dict(current.get("Policy") or "{}") != json.loads(policy):
            self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
            if self.changes.get(f"queue {self.names.events_queue}") == "unchanged":
                self._report(f"queue {self.names.events_queue}", "updated")

        what = f"notifications {bucket}"
        config = self.s3.get_bucket_notification_configuration(Bucket=bucket)
        config.pop("ResponseMetadata", None)
        queues = config.get("QueueConfigurations", [])
        ours = [q for q in queues if q.get("Id") == EVENTS_NOTIFICATION_ID]
        wanted = {"Id": EVENTS_NOTIFICATION_ID, "QueueArn": arn, "Events": BUCKET_EVENTS}
        if len(ours) == 1 and ours[0].get("QueueArn") == arn and sorted(ours[0].get("Events", [])) == sorted(BUCKET_EVENTS):
            self._report(what, "unchanged")
            return url
        config["QueueConfigurations"] = [q for q in queues if q.get("Id") != EVENTS_NOTIFICATION_ID] + [wanted]
        self.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
        self._report(what, "updated" if ours else "created")
        return url

    def chunks_lifecycle(self, bucket: str) -> None:
        """Expire `_chunks/` (left by failed or stopped chunked executions) after a day; other rules
        of the bucket are kept."""
        what = f"lifecycle {bucket}/{CHUNKS_PREFIX}"
        rule = chunks_rule()
        try:
            rules = self.s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
        except ClientError as exc:
            if _code(exc) != "NoSuchLifecycleConfiguration":
                raise
            rules = []
        current = next((r for r in rules if r.get("ID") == CHUNKS_RULE_ID), None)
        if current is not None and _same_rule(current, rule):
            self._report(what, "unchanged")
            return
        others = [r for r in rules if r.get("ID") != CHUNKS_RULE_ID]
        self.s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [*others, rule]})
        self._report(what, "created" if current is None else "updated")

    # -- IAM -------------------------------------------------------------------------------------
    def role(self, name: str, service: str, policy: dict) -> str:
        what = f"role {name}"
        trust = policies.trust(service)
        try:
            role = self.iam.get_role(RoleName=name)["Role"]
            outcome = "unchanged"
            if _as_dict(role["AssumeRolePolicyDocument"]) != trust:
                self.iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
                outcome = "updated"
        except ClientError as exc:
            if _code(exc) != "NoSuchEntity":
                raise
            role = self.iam.create_role(
                RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                Description=f"MPR: assumed by {service}",
            )["Role"]
            outcome = "created"
        try:
            current = _as_dict(
                self.iam.get_role_policy(RoleName=name, PolicyName=self.names.access_policy)["PolicyDocument"]
            )
        except ClientError as exc:
            if _code(exc) != "NoSuchEntity":
                raise
            current = None
        if current != policy:
            self.iam.put_role_policy(RoleName=name, PolicyName=self.names.access_policy,
                                     PolicyDocument=json.dumps(policy))
            outcome = "updated" if outcome == "unchanged" else outcome
        self._report(what, outcome)
        return role["Arn"]

    # -- Lambda ----------------------------------------------------------------------------------
    def _wait_function(self, name: str, timeout: float = 300.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            cfg = self.lam.get_function_configuration(FunctionName=name)
            state, update = cfg.get("State", "Active"), cfg.get("LastUpdateStatus", "Successful")
            if state == "Failed" or update == "Failed":
                raise DeployError(f"Lambda {name}: {cfg.get('StateReason') or cfg.get('LastUpdateStatusReason')}")
            if state == "Active" and update == "Successful":
                return cfg
            if time.monotonic() > deadline:
                raise DeployError(f"Lambda {name} still {state}/{update} after {timeout:.0f} s")
            time.sleep(2)

    def function(self, image_uri: str, role_arn: str, secret: str, role_is_new: bool) -> str:
        name = self.names.function
        what = f"function {name}"
        wanted = {
            "Role": role_arn,
            "Timeout": LAMBDA_TIMEOUT,
            "MemorySize": LAMBDA_MEMORY,
            "EphemeralStorage": {"Size": LAMBDA_TMP},
            "Environment": {"Variables": {"MPR_CALLBACK_SECRET": secret}},
        }
        try:
            current = self.lam.get_function(FunctionName=name)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            current = None
        if current is None:
            arn = self._create_function(name, image_uri, wanted, role_is_new)
            self._wait_function(name)
            self._report(what, "created")
            return arn
        cfg = current["Configuration"]
        outcome = "unchanged"
        if current.get("Code", {}).get("ImageUri") != image_uri:
            self.lam.update_function_code(FunctionName=name, ImageUri=image_uri)
            self._wait_function(name)
            outcome = "updated"
        differs = {k: v for k, v in wanted.items() if cfg.get(k) != v}
        if differs:
            self.lam.update_function_configuration(FunctionName=name, **differs)
            self._wait_function(name)
            outcome = "updated"
        self._report(what, outcome)
        return cfg["FunctionArn"]

    def _create_function(self, name: str, image_uri: str, wanted: dict, role_is_new: bool) -> str:
        deadline = time.monotonic() + (ROLE_PROPAGATION_WAIT if role_is_new else 0)
        while True:
            try:
                return self.lam.create_function(
                    FunctionName=name, PackageType="Image", Code={"ImageUri": image_uri},
                    Description="MPR FFmpeg transcoder (lambda/handler.py)", Publish=False, **wanted,
                )["FunctionArn"]
            except ClientError as exc:
                role_not_ready = _code(exc) == "InvalidParameterValueException" and "role" in str(exc).lower()
                if not role_not_ready or time.monotonic() > deadline:
                    raise
                time.sleep(3)

    def existing_secret(self) -> str | None:
        try:
            cfg = self.lam.get_function_configuration(FunctionName=self.names.function)
        except ClientError:
            return None
        return (cfg.get("Environment") or {}).get("Variables", {}).get("MPR_CALLBACK_SECRET")

    # -- Step Functions --------------------------------------------------------------------------
    def state_machine(self, name: str, definition: str, role_arn: str) -> str:
        what = f"state machine {name}"
        arn = None
        for page in self.sfn.get_paginator("list_state_machines").paginate():
            for sm in page["stateMachines"]:
                if sm["name"] == name:
                    arn = sm["stateMachineArn"]
        if arn is None:
            deadline = time.monotonic() + ROLE_PROPAGATION_WAIT
            while True:
                try:
                    arn = self.sfn.create_state_machine(
                        name=name, definition=definition, roleArn=role_arn, type="STANDARD"
                    )["stateMachineArn"]
                    break
                except ClientError as exc:  # the new role may not be assumable yet
                    if _code(exc) != "AccessDeniedException" or time.monotonic() > deadline:
                        raise
                    time.sleep(3)
            self._report(what, "created")
            return arn
        current = self.sfn.describe_state_machine(stateMachineArn=arn)
        if json.loads(current["definition"]) != json.loads(definition) or current["roleArn"] != role_arn:
            self.sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role_arn)
            self._report(what, "updated")
        else:
            self._report(what, "unchanged")
        return arn


def deploy_resources(
    settings: Settings,
    image_uri: str,
    *,
    prefix: str = "mpr",
    callback_secret: str | None = None,
    session=None,
    log: Callable[[str], None] = print,
) -> Deployment:
    """Create or update every resource; return the MPR_* settings and what happened to each resource.

    The callback secret is, in order: `callback_secret`, `settings.callback_secret`, the one the
    deployed function already has, or a new random one.
    """
    if not image_uri:
        raise DeployError("an image URI is required (the pushed lambda/Dockerfile image, e.g. "
                          "123456789012.dkr.ecr.us-east-1.amazonaws.com/mpr-ffmpeg:latest)")
    names = Names(prefix)
    d = _Deployer(settings, names, log, session)
    secret = callback_secret or settings.callback_secret or d.existing_secret() or secrets.token_urlsafe(32)
    in_b, out_b = settings.s3_in_bucket, settings.s3_out_bucket
    log(f"Deploying MPR to {settings.aws_endpoint_url or 'AWS'} ({d.region}):")
    d.bucket(in_b)
    d.bucket(out_b)
    events_url = d.bucket_events(in_b)
    d.chunks_lifecycle(out_b)
    lambda_role = d.role(names.lambda_role, "lambda.amazonaws.com", policies.lambda_access(in_b, out_b))
    role_is_new = d.changes.get(f"role {names.lambda_role}") == "created"
    function_arn = d.function(image_uri, lambda_role, secret, role_is_new)
    sfn_role = d.role(names.sfn_role, "states.amazonaws.com", policies.sfn_access(function_arn))
    sm_arn = d.state_machine(names.state_machine, render_definition(function_arn), sfn_role)
    chunked_arn = d.state_machine(names.chunked_state_machine, render_definition(function_arn, CHUNKED_ASL_PATH),
                                  sfn_role)
    ladder_arn = d.state_machine(names.ladder_state_machine, render_definition(function_arn, LADDER_ASL_PATH),
                                 sfn_role)
    sequence_arn = d.state_machine(names.sequence_state_machine,
                                   render_definition(function_arn, SEQUENCE_ASL_PATH), sfn_role)
    env = {
        "MPR_EXECUTOR": "aws",
        "MPR_STORAGE": "s3",
        "MPR_S3_IN_BUCKET": in_b,
        "MPR_S3_OUT_BUCKET": out_b,
        "MPR_STATE_MACHINE_ARN": sm_arn,
        "MPR_CHUNKED_STATE_MACHINE_ARN": chunked_arn,
        "MPR_LADDER_STATE_MACHINE_ARN": ladder_arn,
        "MPR_SEQUENCE_STATE_MACHINE_ARN": sequence_arn,
        "MPR_CALLBACK_SECRET": secret,
        "MPR_S3_EVENTS_QUEUE_URL": events_url,
        "AWS_DEFAULT_REGION": d.region,
    }
    if settings.aws_endpoint_url:
        env["AWS_ENDPOINT_URL"] = settings.aws_endpoint_url
    return Deployment(settings=env, changes=d.changes)


def deploy(settings: Settings, image_uri: str, **kwargs) -> dict[str, str]:
    """Deploy (see `deploy_resources`) and return the MPR_* settings to export."""
    return deploy_resources(settings, image_uri, **kwargs).settings


def format_env(env: dict[str, str]) -> str:
    import shlex

    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())


def main_deploy(argv: list[str] | None, settings: Settings) -> int:
    parser = argparse.ArgumentParser(prog="mpr aws deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--image-uri", required=True,
                        help="container image of lambda/Dockerfile, pushed to ECR")
    parser.add_argument("--prefix", default="mpr", help="name prefix of the roles, function and state machines")
    args = parser.parse_args(argv)
    try:
        deployment = deploy_resources(settings, args.image_uri, prefix=args.prefix)
    except (DeployError, ClientError) as exc:
        print(f"deploy failed: {exc}", file=sys.stderr)
        return 1
    print("\n# MPR settings for this deployment:")
    print(format_env(deployment.settings))
    print("# and MPR_CALLBACK_URL: the URL at which the Lambda reaches this server (e.g. https://mpr.example.com)")
    return 0
