"""Loaders of the embedded and user-supplied sources, one module per source."""
