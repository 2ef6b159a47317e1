"""FFmpeg layer of MPR: probe media, validate presets, build and run ffmpeg commands, verify outputs.

Knows nothing about the database, the web or AWS; both the local executor and the Lambda call
the same functions here so a job gives the same output wherever it runs.

Modules: `binaries` (which ffmpeg/ffprobe), `probe` (typed MediaInfo, damaged-file detection),
`presets` (builtin library + allowlist validation), `command` (preset + trim -> argv),
`runner` (run with progress and clean cancel), `verify` (check the output), `chunking` (chunk
plans, their commands and the joined file's check; a package), `thumbnails`
(poster + filmstrip), `clips` (lavfi test clips), `webp` (animated WebP through Pillow), `paths` (how
file names and URLs are handed to ffmpeg).
"""
