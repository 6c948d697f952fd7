"""exptui: a terminal dashboard and fast engine for DVC experiments."""
__version__ = "0.1.0"
