"""Configuration: the site file (shared by every process) and per-device settings."""

from kiosk.config.loading import ConfigError, load_toml_model
from kiosk.config.site import Site, load_site
from kiosk.languages import LANGUAGES

__all__ = ["LANGUAGES", "ConfigError", "Site", "load_site", "load_toml_model"]
