"""anyplace: an open digital workspace for the public sector."""

__version__ = "0.1.0"
