"""The package version, recorded in every index manifest (a leaf: imports nothing)."""

__version__ = "0.1.0"
