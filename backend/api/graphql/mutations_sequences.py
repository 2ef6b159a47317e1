"""Sequence mutations: createSequence, updateSequence (clips and/or name: rename), duplicateSequence,
deleteSequence, renderSequence (one job: a preset's output or a template's outputs), importSequence (OTIO / EDL / FCP XML). The rules live in
`backend.jobs.sequences` and `backend.jobs.interchange`; every call is audited by the permission guard."""
from __future__ import annotations

import strawberry

from backend.api.graphql.context import api
from backend.api.graphql.ids import parse_id
from backend.api.graphql.inputs import SequenceClipInput, SequenceFormat
from backend.api.graphql.types import DeleteResult, ImportedClip, ImportSequenceResult, Sequence, TranscodeJob
from backend.jobs import interchange, sequences


def _clips(clips: list[SequenceClipInput]) -> list[dict]:
    return [{"sourceId": parse_id(c.source_id, f"clips[{i}].sourceId"), "start": c.start, "end": c.end}
            for i, c in enumerate(clips)]


def _user(info) -> int | None:
    identity = api(info).identity
    return identity.user_id if identity is not None else None


@strawberry.type
class SequenceMutations:
    @strawberry.mutation(description="Save a new sequence (clips in play order; each is checked against its asset).")
    async def create_sequence(self, info: strawberry.Info, name: str,
                              clips: list[SequenceClipInput] | None = None) -> Sequence:
        return Sequence.from_row(await sequences.create_sequence(name, _clips(clips or []), _user(info)))

    @strawberry.mutation(description="Replace a sequence's clips (the whole list, in play order) and/or rename it.")
    async def update_sequence(self, info: strawberry.Info, id: strawberry.ID,
                              clips: list[SequenceClipInput] | None = None, name: str | None = None) -> Sequence:
        return Sequence.from_row(await sequences.update_sequence(
            parse_id(id, "sequence id"), name=name, clips=None if clips is None else _clips(clips)))

    @strawberry.mutation(description="Copy a sequence under a new name (default: '<name> copy').")
    async def duplicate_sequence(self, info: strawberry.Info, id: strawberry.ID, name: str | None = None) -> Sequence:
        return Sequence.from_row(await sequences.duplicate_sequence(parse_id(id, "sequence id"), name, _user(info)))

    @strawberry.mutation(description="Delete a sequence; jobs that rendered it keep their sequenceSnapshot.")
    async def delete_sequence(self, info: strawberry.Info, id: strawberry.ID) -> DeleteResult:
        row = await sequences.delete_sequence(parse_id(id, "sequence id"))
        return DeleteResult(id=strawberry.ID(str(row["id"])), deleted=True, removed_files=[], removed_jobs=0,
                            message=f"deleted sequence {row['name']!r}")

    @strawberry.mutation(description="Render a sequence: one job. With `presetId` (a video preset) one output, every "
                                     "clip conformed to the preset; with `templateId` (an output template; not on "
                                     "the AWS executor) the sequence rendered once, then every output of the "
                                     "template made from it (job.outputs, job.playbackUrl). Exactly one of the two. "
                                     "The job keeps the sequence as it is now (sequenceSnapshot).")
    async def render_sequence(self, info: strawberry.Info, id: strawberry.ID, preset_id: strawberry.ID | None = None,
                              output_name: str | None = None, priority: int = 0,
                              template_id: strawberry.ID | None = None) -> TranscodeJob:
        ctx = api(info)
        row = await sequences.render_sequence(
            ctx.settings, ctx.storages, parse_id(id, "sequence id"),
            None if preset_id is None else parse_id(preset_id, "presetId"), output_name, _user(info), priority,
            template_id=None if template_id is None else parse_id(template_id, "templateId"))
        return TranscodeJob.from_row(row)

    @strawberry.mutation(description="A new sequence from an OTIO, EDL or FCP XML timeline; media are matched to "
                                     "assets by file name, and each clip says whether it matched. `rate`: the EDL's "
                                     "frame rate (default: the first standard rate that fits).")
    async def import_sequence(self, info: strawberry.Info, format: SequenceFormat, content: str,
                              name: str | None = None, rate: float | None = None) -> ImportSequenceResult:
        report = await interchange.import_sequence(name, format.value, content, rate=rate, created_by=_user(info))
        return ImportSequenceResult(
            sequence=Sequence.from_row(report.sequence), unmatched=report.unmatched,
            clips=[ImportedClip(index=c["index"], name=c["name"], reel=c["reel"], start=c["start"], end=c["end"],
                                matched=c["matched"], message=c["message"],
                                source_id=None if c["sourceId"] is None else strawberry.ID(str(c["sourceId"])))
                   for c in report.clips])
