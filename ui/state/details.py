"""Asset details state: editable tags and comments of the open asset, and deleting it.

Unsaved details are autosaved when another clip is opened (docs/editor-keys.md, "Unsaved details"):
the drafts remember which asset and which saved values they started from, and on "asset-opened" a
draft that differs is written to ITS asset (only the changed fields) before the drafts reset."""
from __future__ import annotations

import reflex as rx

from ui import api
from ui.models import asset_detail
from ui.state.editor import EditorState


class DetailsState(EditorState):
    tags_draft: list[str] = []
    tag_input: str = ""  # what the (uncontrolled) tag field holds, as its on_change events said
    tag_rev: int = 0  # bumped to empty the tag field (it re-mounts with its key)
    comments_draft: str = ""
    saving: bool = False
    delete_file: bool = False
    confirm_open: bool = False
    details_error: str = ""
    # which asset the drafts belong to, and the saved values they started from
    draft_asset_id: str = ""
    draft_asset_name: str = ""
    draft_base_tags: list[str] = []
    draft_base_comments: str = ""

    @rx.var
    def dirty(self) -> bool:
        return self.tags_draft != self.asset.tags or self.comments_draft != self.asset.comments

    async def _hear(self, news: str) -> list:
        # its own reaction only: what EditorState hears (presets at sign-in) is not the details' business
        if news == "asset-opened":
            if self.draft_asset_id == self.asset.id:
                return []  # the same clip again: what is being typed for it stays
            events = await self._autosave_previous()
            self.reset_drafts()
            return events
        return []

    def _pending_changes(self) -> dict:
        """What the drafts change on their asset: {"tags": [...]} and/or {"comments": "..."}; a tag
        still in the field (typed, no Enter) counts, as Save would add it."""
        tags = list(self.tags_draft)
        for part in self.tag_input.split(","):
            if part.strip() and part.strip() not in tags:
                tags.append(part.strip())
        changes: dict = {}
        if tags != self.draft_base_tags:
            changes["tags"] = tags
        if self.comments_draft != self.draft_base_comments:
            changes["comments"] = self.comments_draft
        return changes

    async def _autosave_previous(self) -> list:
        """Another clip was opened: save what was typed for the previous one instead of dropping it."""
        previous, changes = self.draft_asset_id, self._pending_changes()
        if not previous or previous == self.asset.id or not changes or not self.can_edit:
            return []
        try:
            await api.update_asset(previous, **changes)
        except api.ApiError as exc:
            return [rx.toast.error(f"The details of {self.draft_asset_name} were not saved: {exc.message}")]
        events = [rx.toast.success(f"Saved the details of {self.draft_asset_name}.")]
        return events + await self._announce("assets-changed")

    @rx.event
    def reset_drafts(self):
        self.tags_draft = list(self.asset.tags)
        self.comments_draft = self.asset.comments
        self.draft_asset_id, self.draft_asset_name = self.asset.id, self.asset.name
        self.draft_base_tags, self.draft_base_comments = list(self.asset.tags), self.asset.comments
        self.tag_input, self.details_error = "", ""
        self.tag_rev += 1

    @rx.event
    def set_tag_input(self, value: str):
        self.tag_input = value

    def _add_tags(self, text: str) -> None:
        for part in text.split(","):
            tag = part.strip()
            if tag and tag not in self.tags_draft:
                self.tags_draft.append(tag)
        self.tag_input = ""

    @rx.event
    def add_tag(self):
        """What the tag field holds becomes tags (Save does this); the field is emptied by re-mounting."""
        self._add_tags(self.tag_input)
        self.tag_rev += 1

    @rx.event
    def submit_tag(self, form_data: dict):
        """Enter in the tag field: its form carries the text and the browser has emptied the field
        already (and keeps the focus in it), so nothing is sent back to the field."""
        self._add_tags(str(form_data.get("tag") or ""))

    @rx.event
    def tag_key(self, key: str):
        """Backspace in the empty field removes the last tag (events reach the state in order, so
        `tag_input` is what the field held when the key went down)."""
        if key == "Backspace" and not self.tag_input and self.tags_draft:
            self.tags_draft = self.tags_draft[:-1]

    @rx.event
    def remove_tag(self, tag: str):
        self.tags_draft = [t for t in self.tags_draft if t != tag]

    @rx.event
    def set_comments_draft(self, value: str):
        self.comments_draft = value

    @rx.event
    async def save(self):
        if not self.authenticated or not self.has_asset:
            return
        if self.tag_input.strip():
            self.add_tag()
        self.saving = True
        yield
        try:
            row = await api.update_asset(self.asset.id, tags=self.tags_draft, comments=self.comments_draft)
        except api.ApiError as exc:
            self.saving, self.details_error = False, exc.message
            return
        self.saving, self.details_error = False, ""
        self.asset = asset_detail(row)
        self.tags_draft, self.comments_draft = list(self.asset.tags), self.asset.comments
        self.draft_base_tags, self.draft_base_comments = list(self.asset.tags), self.asset.comments
        self.tag_input = ""
        yield rx.toast.success("Details saved.")
        for event in await self._announce("assets-changed"):
            yield event

    @rx.event
    def set_confirm_open(self, value: bool):
        self.confirm_open = value

    @rx.event
    def set_delete_file(self, value: bool):
        self.delete_file = value

    @rx.event
    async def delete(self):
        if not self.authenticated or not self.has_asset:
            return
        try:
            result = await api.delete_asset(self.asset.id, delete_file=self.delete_file)
        except api.ApiError as exc:
            self.confirm_open = False
            yield rx.toast.error(exc.message)
            return
        self.confirm_open, self.delete_file = False, False
        self._clear_asset()
        self.draft_asset_id = ""  # nothing to autosave onto a deleted asset
        yield rx.toast.success(result.get("message") or "Asset deleted.")
        for event in await self._announce("assets-changed"):
            yield event
