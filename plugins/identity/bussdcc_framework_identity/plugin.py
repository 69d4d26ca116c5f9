"""Entry point of the identity plugin: the hook implementations bussdcc-framework calls."""
