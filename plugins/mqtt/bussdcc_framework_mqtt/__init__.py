"""bussdcc-framework plugin: fleets over MQTT."""
