"""MPR timeline UI (Reflex 0.10, app module ui/ui.py), served with the API on one port by backend.serve.

Layout: library (left) | player, timeline, asset details (center) | job panel, queue (right).
- ui/api.py        the only module that knows the GraphQL endpoint and token
- ui/state/        Reflex states: base (login, boot), library, editor (in/out, job form), details, queue (poller)
- ui/components/   one module per panel; timeline.js owns the playhead, drags and keys
- ui/mount.py      routes /graphql, /admin, /api, /media, /healthz to the Litestar app
Keys: Space play/pause, J/K/L shuttle, ←/→ one frame (Shift: 10), I/O set in/out, Home/End go to in/out.
Run: `mpr up` (or `make run`); tests: `pytest tests/ui` (browser tests are marked slow); bench: bench/ui.py.
"""
