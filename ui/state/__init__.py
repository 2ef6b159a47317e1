"""Reflex states of the timeline page; each reaches the backend only through ui.api (GraphQL)."""
