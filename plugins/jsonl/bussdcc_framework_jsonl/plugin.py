"""Entry point of the jsonl plugin: the hook implementations bussdcc-framework calls."""
