"""The queue service: SQLite journal + MQTT + HTTP around the pure engine."""
