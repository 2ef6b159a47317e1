"""Executors run queued jobs: `local` (FFmpeg processes on this machine) and `aws` (Step Functions)."""
