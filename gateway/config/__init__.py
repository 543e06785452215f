"""Configuration: one schema (schema.py) holds every option, its type, default and doc."""

from .loader import ConfigError, Settings, load_settings
from .schema import OPTIONS, Option

__all__ = ["OPTIONS", "ConfigError", "Option", "Settings", "load_settings"]
