"""libkiosk: an open-source self-service kiosk for public libraries."""

__version__ = "0.1.0"
