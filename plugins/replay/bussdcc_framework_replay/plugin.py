"""Entry point of the replay plugin: the hook implementations bussdcc-framework calls."""
