"""Putting MPR's AWS side in place: `mpr aws deploy` (buckets, roles, the FFmpeg Lambda, the
single-pass, chunked and output-template state machines) and `mpr aws local` (the same, on an in-process moto
server that runs the real handler).

Entry points for backend/cli.py: `main_deploy(argv, settings)` and `main_local(argv, settings)` below
(imported lazily: boto3, moto); the CLI reads the settings from the environment and passes them in.
"""


def main_deploy(argv: list[str] | None, settings) -> int:
    """`mpr aws deploy --image-uri URI [--prefix mpr]`; returns the exit status."""
    from backend.awsdeploy.deploy import main_deploy as run

    return run(argv, settings)


def main_local(argv: list[str] | None, settings) -> int:
    """`mpr aws local [--host H] [--port P] [--callback-url URL]`; returns the exit status."""
    from backend.awsdeploy.local import main_local as run

    return run(argv, settings)
