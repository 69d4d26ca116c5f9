"""bussdcc-framework plugin: Deterministic replay of recorded event streams."""
