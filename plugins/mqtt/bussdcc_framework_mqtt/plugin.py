"""Entry point of the mqtt plugin: its hookimpls only."""
