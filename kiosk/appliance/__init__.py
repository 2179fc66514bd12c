"""The kiosk as an unattended appliance: what systemd, Prometheus and a fleet's tools talk to.

``kiosk.appliance.monitoring``  the metrics registry (exposed through prometheus_client), ``/health``,
                                the gauge sampler and the services the app starts
``kiosk.appliance.endpoint``    the bounded HTTP endpoint serving ``/metrics`` and ``/health``
``kiosk.appliance.gauges``      what is sampled for the fleet's alert rules (backlogs, devices, clock)
``kiosk.appliance.watchdog``    systemd readiness and watchdog pings from the UI main loop
``kiosk.appliance.system``      ``kiosk doctor``'s SD-card and display checks
``kiosk.appliance.labels``      the no-personal-data rule for metric labels
``kiosk.appliance.alerts``      e-mail and webhook alerts to staff, rate-limited (what the metrics say)
``kiosk.appliance.webhook``     a webhook POST with a total deadline (a dripping receiver cannot hold it)
``kiosk.appliance.clock``       trusted time: a Pi has no real-time clock, so is the wall clock believable?
``kiosk.appliance.durable``     the durable SQLite store everything that must survive a power cut is written through
``kiosk.appliance.privacy``     the log side of the no-personal-data rule: masked card numbers, scrubbed SIP2
                                frames, the journald log set-up

clock, durable and privacy import no other layer of the kiosk (only kiosk.errors; the clock reports to
monitoring lazily), so the protocol clients and stores below the appliance can use them.

Nothing here imports Kivy; the package is light enough for the config check to import it.
Fleet files (Prometheus, Alertmanager, Grafana, Ansible) are in deploy/; docs/monitoring.md.
"""
