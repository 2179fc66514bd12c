"""The kiosk as an unattended appliance: what systemd, Prometheus and a fleet's tools talk to.

``kiosk.appliance.monitoring``  the ``/metrics`` + ``/health`` endpoint and the metrics registry
``kiosk.appliance.watchdog``    systemd readiness and watchdog pings from the UI main loop

Nothing here imports Kivy; the package is light enough for the config check to import it.
"""
