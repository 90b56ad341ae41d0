"""The server: listeners, transports, zone routing and the instance lifecycle."""
