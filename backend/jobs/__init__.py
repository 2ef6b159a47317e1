"""Jobs: the lifecycle (legal transitions), creation rules, executors (local FFmpeg pool, AWS), recovery."""
