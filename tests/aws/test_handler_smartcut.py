"""The single-pass Lambda runs a smart cut through the same runner as the local executor: a spec
with trim mode "smart" (JobSpec version 2) from S3 to a verified, frame-exact output in S3."""
from __future__ import annotations

import json
import subprocess

import pytest
from aws_helpers import SECRET, job_event, put

from backend.awsdeploy.moto_lambda import LambdaContext, load_handler
from backend.media.binaries import ffprobe_path
from backend.media.clips import generate_clip
from backend.pipeline.spec import SPEC_VERSION

pytestmark = [pytest.mark.slow, pytest.mark.aws]
handler = load_handler()


def test_lambda_smart_cut(moto_stack, receiver, tmp_path):
    clip = generate_clip(tmp_path / "gop2.mp4", duration=6.0, width=320, height=240, fps=25, gop=50)
    put(moto_stack, clip, "unit/gop2.mp4")
    event = job_event(moto_stack, 261, "unit/gop2.mp4", receiver.callback_url(261), preset_name="Trim only (stream copy)",
                      trim={"start": 1.0, "end": 5.0, "accurate": True})
    event["trim"]["mode"] = "smart"
    assert event["version"] == SPEC_VERSION
    work = tmp_path / "lambda-tmp"
    work.mkdir()
    env = {"AWS_ENDPOINT_URL": moto_stack.aws.endpoint, "AWS_DEFAULT_REGION": moto_stack.aws.region,
           "MPR_CALLBACK_SECRET": SECRET, "MPR_LAMBDA_TMP": str(work)}
    result = handler.process(event, LambdaContext("mpr-ffmpeg", 900.0), env)
    assert result["status"] == "succeeded", result
    [done] = receiver.payloads(261, "succeeded")
    assert done["output"]["duration"] == pytest.approx(4.0, abs=0.05)
    assert done["output"]["plan"]["smart_mode"] == "smart" and done["output"]["plan"]["frames"] == 100
    out = tmp_path / "out.mp4"
    moto_stack.aws.client("s3").download_file(moto_stack.env["MPR_S3_OUT_BUCKET"], event["output"]["key"], str(out))
    probe = subprocess.run([ffprobe_path(), "-v", "error", "-count_packets", "-select_streams", "v:0",
                            "-show_entries", "stream=nb_read_packets", "-of", "json", str(out)],
                           capture_output=True, text=True, check=True)
    assert int(json.loads(probe.stdout)["streams"][0]["nb_read_packets"]) == 100
    assert not any(work.iterdir())
