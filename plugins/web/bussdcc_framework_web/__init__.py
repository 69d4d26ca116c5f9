"""bussdcc-framework plugin: Live web interface over Flask and Socket.IO."""
