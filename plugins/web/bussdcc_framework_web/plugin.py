"""Entry point of the web plugin: the hook implementations bussdcc-framework calls."""
