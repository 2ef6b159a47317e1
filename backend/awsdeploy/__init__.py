"""Putting MPR's AWS side in place: `mpr aws deploy` (buckets, roles, the FFmpeg Lambda, the state
machine) and `mpr aws local` (the same, on an in-process moto server that runs the real handler).

Entry points for backend/cli.py: `main_deploy(argv)` and `main_local(argv)` in `backend.awsdeploy.cli`.
"""
