"""The city hub: one process that follows every office of a city over the city broker.

Each office's Mosquitto bridges out (never in) its groups' retained state, its queue service's presence and its
day summaries (``kiosk.bus.schemas.SiteDaySummary``). The hub keeps the live picture in memory
(:mod:`city_hub.view`, pure), stores the summaries in a database (:mod:`city_hub.store`: PostgreSQL for a city,
SQLite when small, migrated by Alembic), and learns a weekday × hour forecast from them (:mod:`city_hub.forecast`,
pure). :mod:`city_hub.ingest` is the one MQTT adapter that feeds the view and the store.
"""
