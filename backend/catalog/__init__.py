"""The catalog: Piccolo tables for assets, presets and jobs, their migrations, and ingest."""
