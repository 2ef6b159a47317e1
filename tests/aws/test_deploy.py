"""`mpr aws deploy` against a moto server: what it creates, and that a second run changes nothing."""
from __future__ import annotations

import json

import pytest
from aws_helpers import SECRET

from backend.awsdeploy import main_deploy
from backend.awsdeploy.deploy import (
    ASL_PATH,
    CHUNKED_ASL_PATH,
    LADDER_ASL_PATH,
    SEQUENCE_ASL_PATH,
    DeployError,
    chunks_rule,
    deploy_resources,
    render_definition,
)
from backend.awsdeploy.local import local_aws
from backend.config import Settings

pytestmark = [pytest.mark.slow, pytest.mark.aws]
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mpr-ffmpeg:1"


@pytest.fixture(scope="module")
def aws():
    with local_aws() as aws:
        yield aws


@pytest.fixture(scope="module")
def base(aws) -> Settings:
    return Settings.from_env().with_(
        aws_endpoint_url=aws.endpoint, aws_region=aws.region, s3_in_bucket="dep-in", s3_out_bucket="dep-out",
        callback_secret=SECRET,
    )


@pytest.fixture(scope="module")
def first(base):
    lines: list[str] = []
    return deploy_resources(base, IMAGE, log=lines.append), lines


def test_first_run_creates_everything(aws, first):
    deployment, lines = first
    assert set(deployment.changes.values()) == {"created"}
    assert set(deployment.changes) == {
        "bucket dep-in", "bucket dep-out", "lifecycle dep-out/_chunks/", "role mpr-ffmpeg-lambda",
        "function mpr-ffmpeg", "role mpr-transcode-states", "state machine mpr-transcode",
        "state machine mpr-transcode-chunked", "state machine mpr-transcode-ladder",
        "state machine mpr-transcode-sequence",
        "queue mpr-input-events-dlq", "queue mpr-input-events", "notifications dep-in",
    }
    assert len(lines) == 14
    env = deployment.settings
    assert env["MPR_EXECUTOR"] == "aws" and env["MPR_STORAGE"] == "s3"
    assert (env["MPR_S3_IN_BUCKET"], env["MPR_S3_OUT_BUCKET"]) == ("dep-in", "dep-out")
    assert env["MPR_CALLBACK_SECRET"] == SECRET and env["AWS_ENDPOINT_URL"] == aws.endpoint

    fn = aws.client("lambda").get_function(FunctionName="mpr-ffmpeg")
    cfg = fn["Configuration"]
    assert (cfg["PackageType"], cfg["Timeout"], cfg["MemorySize"]) == ("Image", 900, 3008)
    assert cfg["EphemeralStorage"] == {"Size": 10240}
    assert cfg["Environment"]["Variables"] == {"MPR_CALLBACK_SECRET": SECRET}
    assert fn["Code"]["ImageUri"] == IMAGE

    iam = aws.client("iam")
    trust = iam.get_role(RoleName="mpr-ffmpeg-lambda")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    policy = iam.get_role_policy(RoleName="mpr-ffmpeg-lambda", PolicyName="mpr-access")["PolicyDocument"]
    resources = {r for st in policy["Statement"] for r in st["Resource"]}
    assert {"arn:aws:s3:::dep-in/*", "arn:aws:s3:::dep-out/*"} <= resources
    [work] = [st for st in policy["Statement"] if st["Resource"] == ["arn:aws:s3:::dep-out/_chunks/*"]]
    assert set(work["Action"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    sfn_policy = iam.get_role_policy(RoleName="mpr-transcode-states", PolicyName="mpr-access")["PolicyDocument"]
    assert sfn_policy["Statement"][0]["Resource"][0] == cfg["FunctionArn"]

    sm = aws.client("stepfunctions").describe_state_machine(stateMachineArn=env["MPR_STATE_MACHINE_ARN"])
    definition = json.loads(sm["definition"])
    assert definition == json.loads(render_definition(cfg["FunctionArn"]))
    assert definition["States"]["Transcode"]["Parameters"]["FunctionName"] == cfg["FunctionArn"]

    chunked_arn = env["MPR_CHUNKED_STATE_MACHINE_ARN"]
    assert chunked_arn.endswith(":stateMachine:mpr-transcode-chunked")
    chunked = aws.client("stepfunctions").describe_state_machine(stateMachineArn=chunked_arn)
    assert json.loads(chunked["definition"]) == json.loads(render_definition(cfg["FunctionArn"], CHUNKED_ASL_PATH))
    assert chunked["roleArn"] == sm["roleArn"]
    ladder_arn = env["MPR_LADDER_STATE_MACHINE_ARN"]
    assert ladder_arn.endswith(":stateMachine:mpr-transcode-ladder")
    ladder = aws.client("stepfunctions").describe_state_machine(stateMachineArn=ladder_arn)
    assert json.loads(ladder["definition"]) == json.loads(render_definition(cfg["FunctionArn"], LADDER_ASL_PATH))
    assert ladder["roleArn"] == sm["roleArn"]
    sequence_arn = env["MPR_SEQUENCE_STATE_MACHINE_ARN"]
    assert sequence_arn.endswith(":stateMachine:mpr-transcode-sequence")
    sequence = aws.client("stepfunctions").describe_state_machine(stateMachineArn=sequence_arn)
    assert json.loads(sequence["definition"]) == json.loads(render_definition(cfg["FunctionArn"], SEQUENCE_ASL_PATH))
    assert sequence["roleArn"] == sm["roleArn"]
    s3 = aws.client("s3")
    block = s3.get_public_access_block(Bucket="dep-out")["PublicAccessBlockConfiguration"]
    assert all(block.values())
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket="dep-out")["Rules"]
    assert rule["Filter"] == {"Prefix": "_chunks/"} and rule["Expiration"] == {"Days": 1}
    assert rule["Status"] == "Enabled"

    # the input bucket's object events go to the queue, whose failures go to the dead-letter queue
    sqs = aws.client("sqs")
    queue = env["MPR_S3_EVENTS_QUEUE_URL"]
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName="mpr-input-events-dlq")["QueueUrl"],
                                   AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert json.loads(attrs["RedrivePolicy"]) in ({"deadLetterTargetArn": dlq, "maxReceiveCount": 5},
                                                   {"deadLetterTargetArn": dlq, "maxReceiveCount": "5"})
    [statement] = json.loads(attrs["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::dep-in"}}
    [notify] = s3.get_bucket_notification_configuration(Bucket="dep-in")["QueueConfigurations"]
    assert notify["QueueArn"] == attrs["QueueArn"]
    assert sorted(notify["Events"]) == ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]


def test_second_run_changes_nothing(base, first):
    lines: list[str] = []
    again = deploy_resources(base, IMAGE, log=lines.append)
    assert set(again.changes.values()) == {"unchanged"} and not again.changed
    assert again.settings == first[0].settings
    assert sum("unchanged" in line for line in lines) == 13


def test_new_image_updates_only_the_function(aws, base, first):
    new = deploy_resources(base, IMAGE.replace(":1", ":2"), log=lambda line: None)
    assert {k for k, v in new.changes.items() if v != "unchanged"} == {"function mpr-ffmpeg"}
    assert aws.client("lambda").get_function(FunctionName="mpr-ffmpeg")["Code"]["ImageUri"].endswith(":2")
    assert not deploy_resources(base, IMAGE.replace(":1", ":2"), log=lambda line: None).changed


def test_drift_is_repaired(aws, base, first):
    aws.client("lambda").update_function_configuration(FunctionName="mpr-ffmpeg", Timeout=30)
    aws.client("iam").put_role_policy(RoleName="mpr-ffmpeg-lambda", PolicyName="mpr-access",
                                      PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                          {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    fixed = deploy_resources(base, IMAGE.replace(":1", ":2"), log=lambda line: None)
    assert fixed.changes["function mpr-ffmpeg"] == "updated"
    assert fixed.changes["role mpr-ffmpeg-lambda"] == "updated"
    assert aws.client("lambda").get_function_configuration(FunctionName="mpr-ffmpeg")["Timeout"] == 900


def test_lifecycle_and_chunked_machine_drift_is_repaired(aws, base, first):
    """A changed _chunks/ rule is put back, the bucket's other rules stay; so is the chunked definition."""
    s3, sfn = aws.client("s3"), aws.client("stepfunctions")
    theirs = {"ID": "their-logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 30}}
    s3.put_bucket_lifecycle_configuration(Bucket="dep-out", LifecycleConfiguration={"Rules": [
        theirs, {**chunks_rule(), "Expiration": {"Days": 90}}]})
    chunked_arn = first[0].settings["MPR_CHUNKED_STATE_MACHINE_ARN"]
    sfn.update_state_machine(stateMachineArn=chunked_arn,
                             definition=json.dumps({"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}))
    fixed = deploy_resources(base, IMAGE.replace(":1", ":2"), log=lambda line: None)
    assert {k for k, v in fixed.changes.items() if v != "unchanged"} == {
        "lifecycle dep-out/_chunks/", "state machine mpr-transcode-chunked"}
    assert fixed.changes["lifecycle dep-out/_chunks/"] == "updated"
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket="dep-out")["Rules"]}
    assert set(rules) == {"their-logs", "mpr-expire-chunks"}
    assert rules["mpr-expire-chunks"]["Expiration"] == {"Days": 1}
    assert json.loads(sfn.describe_state_machine(stateMachineArn=chunked_arn)["definition"])["StartAt"] == "Encode"
    assert not deploy_resources(base, IMAGE.replace(":1", ":2"), log=lambda line: None).changed


def test_secret_is_kept_when_not_given(aws, base, first):
    """Without MPR_CALLBACK_SECRET the deployed function's secret is reused: the run stays idempotent."""
    again = deploy_resources(base.with_(callback_secret=None), IMAGE.replace(":1", ":2"), log=lambda line: None)
    assert again.settings["MPR_CALLBACK_SECRET"] == SECRET and not again.changed


def test_new_deployment_generates_a_secret(aws, base):
    fresh = deploy_resources(base.with_(callback_secret=None, s3_in_bucket="p2-in", s3_out_bucket="p2-out"),
                             IMAGE, prefix="p2", log=lambda line: None)
    assert len(fresh.settings["MPR_CALLBACK_SECRET"]) >= 32
    assert fresh.settings["MPR_STATE_MACHINE_ARN"].endswith(":stateMachine:p2-transcode")
    assert fresh.settings["MPR_CHUNKED_STATE_MACHINE_ARN"].endswith(":stateMachine:p2-transcode-chunked")
    assert fresh.settings["MPR_LADDER_STATE_MACHINE_ARN"].endswith(":stateMachine:p2-transcode-ladder")
    assert fresh.settings["MPR_SEQUENCE_STATE_MACHINE_ARN"].endswith(":stateMachine:p2-transcode-sequence")


def test_refusals(base, tmp_path):
    with pytest.raises(DeployError, match="image URI"):
        deploy_resources(base, "", log=lambda line: None)
    bad = tmp_path / "x.json"
    bad.write_text(ASL_PATH.read_text().replace("${FunctionArn}", "arn:fixed"))
    with pytest.raises(DeployError, match="placeholder"):
        render_definition("arn:x", bad)


def test_cli_prints_exportable_settings(aws, base, first, monkeypatch, capsys):
    for name, value in {"AWS_ENDPOINT_URL": aws.endpoint, "MPR_S3_IN_BUCKET": "dep-in",
                        "MPR_S3_OUT_BUCKET": "dep-out", "MPR_CALLBACK_SECRET": SECRET}.items():
        monkeypatch.setenv(name, value)
    assert main_deploy(["--image-uri", IMAGE.replace(":1", ":2")], Settings.from_env()) == 0
    out = capsys.readouterr().out
    assert "function mpr-ffmpeg: unchanged" in out
    assert f"export MPR_STATE_MACHINE_ARN={first[0].settings['MPR_STATE_MACHINE_ARN']}" in out
    assert f"export MPR_CHUNKED_STATE_MACHINE_ARN={first[0].settings['MPR_CHUNKED_STATE_MACHINE_ARN']}" in out
    assert f"export MPR_LADDER_STATE_MACHINE_ARN={first[0].settings['MPR_LADDER_STATE_MACHINE_ARN']}" in out
    assert f"export MPR_SEQUENCE_STATE_MACHINE_ARN={first[0].settings['MPR_SEQUENCE_STATE_MACHINE_ARN']}" in out
    assert main_deploy(["--image-uri", ""], Settings.from_env()) == 1

