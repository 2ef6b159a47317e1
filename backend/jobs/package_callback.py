"""The 'succeeded' callback of an output-template job that ran on AWS (sfn/transcode-ladder.asl.json,
lambda/ladder_actions.py): record its outputs as the local executor records them.

The packaging Lambda reports `output = {"key": the job's folder, "outputs": [records], "playback":
entry file, "files": [names], "primary": first ordinary file or null, "note", "plan"}`, every name
relative to the folder. The report is signed, and still checked: the folder must be the job's,
every name a safe key inside it, every record's key one of the files. Then (local storage) the
files are fetched from the output bucket into `media/out/<folder>/`, or (S3 storage) the entry
file is checked to exist; the first ordinary file is probed and registered as the job's output
asset; the job moves to succeeded with `outputs` (keys prefixed with the folder, as
`LocalExecutor._run_template` stores them), `playback_key` and the plan's record.
"""
from __future__ import annotations

import json
import posixpath

from backend.catalog.outputs import register_output
from backend.config import Settings
from backend.jobs import lifecycle
from backend.media.probe import probe_async
from backend.storage import StorageError, Storages, safe_key

MAX_FILES = 50_000  # names; the 1 MiB callback body bounds it first (a 4 h, 5-rung package at 4 s: ~18k, ~400 KB)
MAX_OUTPUTS = 64
MAX_RECORD_BYTES = 200_000  # JSON of the outputs and the plan record


class PackageReportError(ValueError):
    """The report does not describe files inside the job's folder; the message says what."""


def is_template_job(job: dict) -> bool:
    snapshot = job.get("template_snapshot")
    if isinstance(snapshot, str):
        snapshot = json.loads(snapshot or "null")
    return bool(snapshot)


def _folder(job: dict) -> str:
    return posixpath.dirname(job["output_key"]) + "/"


def _checked(output: dict, folder: str) -> tuple[list[str], list[dict], str | None, str | None]:
    if output.get("key") not in (None, folder):
        raise PackageReportError(f"the report is for folder {output.get('key')!r}, the job's is {folder!r}")
    files, outputs = output.get("files"), output.get("outputs")
    if not isinstance(files, list) or not files or len(files) > MAX_FILES:
        raise PackageReportError("the report lists no files (or too many)")
    if not isinstance(outputs, list) or len(outputs) > MAX_OUTPUTS or not all(isinstance(o, dict) for o in outputs):
        raise PackageReportError("the report's outputs are not a list of records")
    if len(json.dumps(outputs)) > MAX_RECORD_BYTES:
        raise PackageReportError("the report's output records are too large")
    names = []
    for name in files:
        try:
            inside = isinstance(name, str) and safe_key(folder + name) == folder + name
        except StorageError:
            inside = False
        if not inside:
            raise PackageReportError(f"file {name!r} is not a plain name inside the job's folder")
        names.append(name)
    known = set(names)
    for record in outputs:
        if record.get("key") is not None and record["key"] not in known:
            raise PackageReportError(f"output {record.get('name')!r} names a file the report does not list")
    playback, primary = output.get("playback"), output.get("primary")
    for what, name in (("playback", playback), ("primary", primary)):
        if name is not None and name not in known:
            raise PackageReportError(f"the {what} file {name!r} is not one of the listed files")
    return names, outputs, playback, primary


async def apply_package(job: dict, attempt: int, payload: dict, storages: Storages,
                        settings: Settings) -> tuple[bool, str | None]:
    """Check and record a template job's outputs; (moved, None), or (moved, why) when a report that
    fails the checks, or files that cannot be read, failed the job."""
    output = payload.get("output") if isinstance(payload.get("output"), dict) else {}
    folder = _folder(job)
    try:
        names, outputs, playback, primary = _checked(output, folder)
        if storages.output.local_path(folder + names[0]) is not None:  # local storage, ran on AWS
            from backend.jobs.executors.aws import fetch_output

            for name in names:
                await fetch_output(settings, storages, folder + name)
        for name in {n for n in (playback, primary) if n}:
            if await storages.output.stat(folder + name) is None:
                raise PackageReportError(f"{folder + name} is not in the output storage")
        info = await probe_async(storages.output.probe_source(folder + primary)) if primary else None
    except Exception as exc:  # noqa: BLE001 - a bad report, a missing or unreadable object
        error = f"the reported outputs of {folder!r} cannot be used: {exc}"
        moved = await lifecycle.transition(job["id"], lifecycle.FAILED, error, expect_attempt=attempt,
                                           expect_from=(lifecycle.RUNNING,), error=error)
        return moved, error
    asset_id = await register_output(storages, folder + primary, info) if primary else None
    plan = job["plan"] if isinstance(job["plan"], dict) else json.loads(job["plan"] or "{}")
    record = output.get("plan")
    if isinstance(record, dict) and len(json.dumps(record)) <= MAX_RECORD_BYTES:
        plan = {**plan, **record}
    note = str(output.get("note") or f"{len(outputs)} output(s) verified")[:2000]
    moved = await lifecycle.transition(
        job["id"], lifecycle.SUCCEEDED, f"{note} (on AWS)", expect_attempt=attempt,
        expect_from=(lifecycle.RUNNING,), output_asset=asset_id,
        log_tail=str(payload.get("log_tail") or "")[-20000:], plan=plan,
        outputs=[{**o, "key": folder + o["key"]} if o.get("key") else o for o in outputs],
        playback_key=folder + playback if playback else "",
    )
    return moved, None
