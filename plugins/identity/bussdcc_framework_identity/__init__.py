"""bussdcc-framework plugin: System identity service."""
