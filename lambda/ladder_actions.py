"""The output-template actions of the FFmpeg Lambda (sfn/transcode-ladder.asl.json, docs/streaming.md):
what is specific to one Map iteration — S3 work objects, progress markers, uploads. The work
itself is `backend.pipeline.ladder_steps` (the same commands and checks `run_ladder` runs here).

lambda/handler.py dispatches `event["action"]` in LADDER_ACTIONS here and passes itself as
`base` (event parsing, callbacks, S3 client, time budget), like lambda/chunk_actions.py. Every
event is the job's envelope and JobSpec (whose `ladder` is the template and `plan` the fitted
`LadderPlan`) plus what the state machine adds:

- ladder_step (+ `step`, one of plan.steps): downloads the source (a part of a long rendition
  reads it through a presigned URL instead: FFmpeg fetches only the byte ranges of its window),
  runs the step (one rendition or one part of it, the storyboard, a file or the poster) and
  uploads what it wrote to the job's work prefix (`_chunks/job-{id}-attempt-{n}/ladder/` in the
  output bucket, expired by the same lifecycle rule as chunks).
  Returns {"step", "files": [{"name", "key", "size"}], "output"}.
- ladder_package (+ `steps`: the Map's results): downloads the renditions (a long one's parts,
  joined by stream copy first: `ladder_steps.join_rendition`), segments them into the package by
  stream copy, checks and measures it, writes the master playlist, uploads the package and
  copies the other outputs into the job's folder (`output.key`), deletes the work prefix and
  sends the signed 'succeeded' callback with every output record (`output.outputs`), the entry
  file (`output.playback`), the files written (`output.files`) and the first ordinary file
  (`output.primary`), as the local executor records them.

Progress: each step keeps a marker object (lambda/chunk_actions.py's ProgressBoard) weighted by
its share; the package step is the last 3 %. Failures raise StepFailed (never retried: FFmpeg
would fail the same way) or StepStopped (the backend no longer wants the attempt).
"""
from __future__ import annotations

import asyncio
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Mapping

from backend.media.chunking import CHUNKS_SHARE
from backend.media.probe import ProbeError, probe
from backend.media.runner import FFmpegError
from backend.media.verify import VerificationError
from backend.pipeline import SpecError
from backend.pipeline.ladder_plan import LadderPlan, StepError, rendition_part
from backend.pipeline.ladder_steps import assemble, plan_of, primary_name, run_package, run_step

LADDER_ACTIONS = ("ladder_step", "ladder_package")
WORK_FOLDER = "ladder/"  # under chunk_actions.work_location's prefix
MARKER_INTERVAL_S = 3.0
TRANSFER_THREADS = 16


class StepFailed(RuntimeError):
    """A step or the packaging failed in a way a retry would not fix."""


class StepStopped(RuntimeError):
    """The backend answered that this attempt is no longer wanted (cancelled or superseded)."""


def _plan(job, base) -> LadderPlan:
    try:
        return plan_of(job.spec)
    except SpecError as exc:
        raise base.InvalidEvent(str(exc)) from exc


def _work(job, base) -> tuple[str, str]:
    bucket, prefix = base.chunk_actions().work_location(job, base)
    return bucket, prefix + WORK_FOLDER


class StepReporter:
    """A pipeline Reporter for one step: its 0..1 goes to its progress marker, the Lambda's
    Reporter sends the job's sum of all markers."""

    def __init__(self, inner, board):
        self.inner, self.board = inner, board

    async def progress(self, fraction: float, fps=None, speed=None, eta=None) -> None:
        now = time.monotonic()
        if now - self.board.last < MARKER_INTERVAL_S:
            return
        self.board.last = now
        percent = await asyncio.to_thread(self.board.publish, fraction * 100.0)
        self.inner.progress(percent / 100.0, fps, speed)

    def should_stop(self):
        return self.inner.should_stop()

    def heartbeat(self):
        return self.inner.heartbeat()


def _run(base, coro, budget: float, what: str):
    """Run one pipeline coroutine to its end; its failures become StepFailed / StepStopped."""
    try:
        return asyncio.run(coro)
    except base.BudgetExceeded:
        raise StepFailed(f"{what}: FFmpeg did not finish within the {budget:.0f} s this Lambda run had "
                         "left (Lambda's limit is 15 minutes)") from None
    except base.StopRequested as exc:
        raise StepStopped(str(exc)) from None
    except FFmpegError as exc:
        raise StepFailed(f"{what}: {exc.message}") from exc
    except VerificationError as exc:
        raise StepFailed(f"{what}: output check failed: {exc}") from exc


def _describe(step: Mapping) -> str:
    what = " ".join(str(step[k]) for k in ("step", "name") if step.get(k) is not None)
    part = rendition_part(step)
    return what if part is None else f"{what} part {part.part + 1} of {part.parts}"


def ladder_step(event: dict, context: Any, env: Mapping[str, str], base) -> dict:
    job, secret = base.parse_event(event), base._secret(env)
    plan = _plan(job, base)
    step = event.get("step")
    try:
        position = plan.position(step)
    except StepError as exc:
        raise base.InvalidEvent(str(exc)) from exc
    what = _describe(step)
    bucket, prefix = _work(job, base)
    s3 = base.s3_client(env)
    board = base.chunk_actions().ProgressBoard(s3, bucket, prefix, position, plan.weight(step))
    reporter = base.Reporter(job, secret)
    work = base.chunk_actions()._workdir(env, f"ladder-{job.job_id}-{position}")
    try:
        if rendition_part(step) is not None:  # a window of a long source: read only its byte ranges
            src = base.chunk_actions()._presigned(s3, job.spec.source.bucket, job.spec.source.key)
        else:
            src, _ = base.fetch_input(s3, job, work)
        reporter.check()
        try:
            info = probe(str(src))
        except ProbeError as exc:
            raise StepFailed(f"the input cannot be read as media: {exc}") from exc
        budget = base.budget_left(context, StepFailed)
        out = work / "out"
        result = _run(base, run_step(job.spec, step, src, out, StepReporter(reporter, board), info=info,
                                     budget=budget), budget, what)
        percent = board.publish(100.0)
        base.chunk_actions()._report_now(base, job, secret, percent)  # a finished step is news
        reporter.check()
        files = []
        for name in result["files"]:
            key = f"{prefix}{position:03d}/{name}"
            s3.upload_file(str(out / name), bucket, key, Config=base.transfer_config())
            files.append({"name": name, "key": key, "size": (out / name).stat().st_size})
    except (base.AttemptNotWanted, base.chunk_actions().ChunkStopped) as exc:
        raise StepStopped(str(exc)) from exc
    except base.TranscodeFailed as exc:
        raise StepFailed(f"{what}: {exc}") from exc
    finally:
        reporter.close()
        shutil.rmtree(work, ignore_errors=True)
    return {"step": dict(step), "files": files, "output": result["output"]}


def _check_results(plan: LadderPlan, results: Any) -> list[dict]:
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise StepFailed("package: the steps' results are missing")
    try:
        got = sorted(plan.position(r.get("step")) for r in results)
    except StepError as exc:
        raise StepFailed(f"package: {exc}") from exc
    if got != list(range(len(plan.steps))):
        raise StepFailed(f"package got steps {got}, the plan has {len(plan.steps)}")
    return results


def ladder_package(event: dict, context: Any, env: Mapping[str, str], base) -> dict:
    job, secret = base.parse_event(event), base._secret(env)
    plan = _plan(job, base)
    results = _check_results(plan, event.get("steps"))
    bucket, prefix = _work(job, base)
    out_bucket, folder = job.spec.output.bucket, job.spec.output.key
    s3 = base.s3_client(env)
    reporter = base.Reporter(job, secret)
    work = base.chunk_actions()._workdir(env, f"package-{job.job_id}")
    try:
        reporter.progress(CHUNKS_SHARE / 100.0)
        encoded = sorted(((int(r["step"]["index"]), int(r["step"].get("part") or 0), r["files"][0])
                          for r in results if r["step"]["step"] == "rendition"), key=lambda e: e[:2])
        (work / "renditions").mkdir(parents=True, exist_ok=True)
        downloads = [(f["key"], work / "renditions" / f["name"]) for _, _, f in encoded]
        renditions: dict[int, list[Path]] = {}  # a rung's file, or its parts in order (joined by run_package)
        for (index, _, _), (_, path) in zip(encoded, downloads):
            renditions.setdefault(index, []).append(path)
        base.check_tmp_space(work, 2 * sum(int(f.get("size") or 0) for _, _, f in encoded), 0,
                             advice="the package step needs the renditions and their segments in /tmp at once")
        with ThreadPoolExecutor(TRANSFER_THREADS) as pool:
            list(pool.map(lambda d: s3.download_file(bucket, d[0], str(d[1])), downloads))
        reporter.check()
        budget = base.budget_left(context, StepFailed)
        pkg = work / "package"
        records, playback, tail = _run(base, run_package(job.spec, renditions, pkg, reporter, budget=budget),
                                       budget, "package")
        reporter.check()  # cancelled meanwhile: nothing lands in the output folder
        written = sorted(str(p.relative_to(pkg)) for p in pkg.rglob("*") if p.is_file())
        uploads = [(str(pkg / name), folder + name) for name in written]
        copies = [(f["key"], folder + f["name"]) for r in results if r["step"]["step"] != "rendition"
                  for f in r["files"]]

        def upload(item):
            s3.upload_file(item[0], out_bucket, item[1], Config=base.transfer_config(),
                           ExtraArgs={"ContentType": base.content_type(item[1])})

        def copy(item):
            s3.copy({"Bucket": bucket, "Key": item[0]}, out_bucket, item[1],
                    ExtraArgs={"ContentType": base.content_type(item[1]), "MetadataDirective": "REPLACE"})

        with ThreadPoolExecutor(TRANSFER_THREADS) as pool:
            list(pool.map(upload, uploads))
            list(pool.map(copy, copies))
        files = written + [dst[len(folder):] for _, dst in copies]
        result = assemble(job.spec, results, records, playback, files, tail[-8000:])
    except (base.AttemptNotWanted, base.chunk_actions().ChunkStopped) as exc:
        raise StepStopped(str(exc)) from exc
    except base.TranscodeFailed as exc:
        raise StepFailed(f"package: {exc}") from exc
    finally:
        reporter.close()
        shutil.rmtree(work, ignore_errors=True)
    base.chunk_actions()._delete_prefix(s3, bucket, prefix)
    output = {"key": folder, "outputs": result.outputs, "playback": result.playback, "files": result.files,
              "primary": primary_name(result), "note": result.note(), "plan": plan.summary()}
    base.send_final(job.job_id, job.attempt, job.nonce, job.callback_url, secret,
                    {"status": "succeeded", "output": output, "log_tail": result.log_tail},
                    **base.final_options(env))
    return {"job_id": job.job_id, "attempt": job.attempt, "status": "succeeded", "playback": result.playback,
            "files": len(result.files)}


ACTIONS = {"ladder_step": ladder_step, "ladder_package": ladder_package}


def process(event: dict, context: Any, env: Mapping[str, str], base) -> dict:
    """Run one ladder action; `base` is lambda/handler.py's namespace."""
    return ACTIONS[event["action"]](event, context, env, base)
