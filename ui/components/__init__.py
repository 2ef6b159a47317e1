"""Components of the timeline page: one module per panel, styles in theme.py."""
