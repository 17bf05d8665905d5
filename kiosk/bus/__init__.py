"""The MQTT bus: the v1 contract (topics, roles, verbs), message schemas and the client."""
