"""Event sinks and sources; each lives in a plugin, imported on first use."""
