"""bussdcc-framework plugin: JSONL recording of every event into time-segmented files."""
