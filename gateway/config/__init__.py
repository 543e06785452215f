"""Configuration: one schema (schema.py) holds every option, its type, default and doc."""

from .loader import ConfigError, Settings, load_settings
from .schema import DEPRECATED, OPTIONS, Option

__all__ = ["DEPRECATED", "OPTIONS", "ConfigError", "Option", "Settings", "load_settings"]
