"""mlstack: one command for an ML team's development environment, one for its deployable compose file."""

__version__ = "0.1.0"
