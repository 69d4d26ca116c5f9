"""The web interface's views: HTML pages, the JSON API and the Socket.IO handlers."""
