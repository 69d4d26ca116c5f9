"""bussdcc-framework plugin: Console output of every event, as JSON lines or a coloured human format."""
