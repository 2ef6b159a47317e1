"""Webhook deliveries: `signature` (the `MPR-Signature` header) and `dispatcher` (the background
task of the app process that POSTs the outbox rows of `backend.catalog.webhook_outbox`)."""
