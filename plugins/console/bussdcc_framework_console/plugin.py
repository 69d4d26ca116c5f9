"""Entry point of the console plugin: the hook implementations bussdcc-framework calls."""
