"""mlstack API template."""
