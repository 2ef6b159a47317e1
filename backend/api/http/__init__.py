"""Plain HTTP routes of the web app (no GraphQL): the signed job callback, /media byte ranges
and their signed links, /healthz, /readyz, /metrics and the Piccolo admin mount.
"""
