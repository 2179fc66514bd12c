"""Staff mode foundations: authentication, settings editing, statistics (issue 9).

The touchscreen staff screens are built on top of these functions; none of them touches Kivy, and
the ones that do slow work (scrypt, SQLite, file writes) must be called from a worker thread,
never from Kivy's main thread.

Public API
----------
``kiosk.staff.auth``
    ``hash_secret(secret, *, n=2**14, r=8, p=1) -> str``   "scrypt$n$r$p$salt$hash" (per-secret salt)
    ``verify_secret(secret, encoded) -> bool``             constant-time; False for a malformed hash
    ``check_hash_format(encoded) -> str | None``           why a stored hash is unusable (config check)
    ``LockoutStore(path)``                                 failed-attempt counter + lock-out-until in
                                                           SQLite; survives restarts and power cuts
    ``StaffAuthenticator(staff_section, store, clock=time.time)``
        ``.authenticate(card=None, pin=None) -> AuthResult``  whatever is given must match (card + wrong
                                                           PIN fails, also in card_or_pin mode)
        ``.status() -> AuthResult``                         locked? attempts left? (for the PIN pad)
    ``StaffAuthenticator.from_settings(settings)``         store in ``settings.data_dir/staff_auth.sqlite3``
    ``is_staff_card(staff_section, card) -> bool``          route a tapped card to the staff PIN pad
                                                           (normalised like hash-card; no lock-out count)
    ``AuthResult(ok, reason, attempts_left, locked_for_s)`` reason in {"ok", "wrong", "locked",
                                                           "card_required", "pin_required", "not_configured"}
``kiosk.staff.settings_edit``
    ``describe(settings) -> list[SettingInfo]``            every key, value (secrets masked), doc, choices
    ``apply_changes(config_path, changes) -> Settings``    validate + write atomically; ConfigError on bad input
        ``changes``: ``{"section.key": value}``; text values are parsed for non-text keys ("7000" -> 7000)
    ``set_staff_pin(config_path, pin) -> Settings``        hash and store a new staff PIN
    ``add_staff_card(config_path, card) -> Settings``      hash and append a staff card
``kiosk.staff.stats``
    ``Stats(path)`` / ``Stats.for_settings(settings)``    SQLite events table in the data dir
        ``.record_event(kind, ok, when=None, *, offline=False, reason_key=None)``
            kind in {"checkout", "checkin", "renewal"} ("return" and "renew" accepted as aliases)
        ``.per_day(start, end) -> list[DayStats]``      ``.per_hour(day) -> list[HourStats]``
        ``.totals(start, end) -> Counts``               ``.refusal_reasons(start, end) -> dict``
    ``install(stats)`` + module-level ``record_event(kind, ok, when=None, ...)`` using the installed store
    (record_event also bumps the Prometheus counters in ``kiosk.appliance.monitoring.metrics``).
``kiosk.staff.cli``
    ``kiosk staff hash-pin`` / ``hash-card`` (read stdin or getpass, print the config line),
    ``kiosk staff set section.key=value ...``, ``kiosk staff unlock``, ``kiosk staff stats``,
    ``kiosk staff check-secrets``.
"""
