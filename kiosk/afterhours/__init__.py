"""After hours: the kiosk as an unattended, lossless book-return slot.

Outside opening hours nobody is there to help, the network may be down and power may fail, yet
every item dropped must end up checked in exactly once, with the real drop time as its return
date (so nobody is fined for the night), and routed to the right shelf.  This package holds:

``hours.py`` (pure)
    ``OpeningHours.from_section(settings.hours)``; ``hours.is_open(at) -> bool``;
    ``hours.next_change(at) -> datetime | None``; ``hours.intervals_on(day)``.
    Weekday hours (``mon = "09:00-12:00,14:00-18:00"``), holidays (``"2026-12-25"`` or yearly
    ``"12-25"``) and exceptions (``{"2026-12-24" = "09:00-12:00"}``).  Naive local datetimes.

``mode.py`` (pure)
    ``effective_mode(configured, hours, now, override=None) -> ModeDecision`` with
    ``.mode`` in {"staffed", "returns"}, ``.reason`` in {"config", "hours", "holiday", "staff"},
    ``.until`` (next change or None).  ``StaffOverride(mode, until)``;
    ``override_until_next_change(configured, hours, now, mode)`` builds the usual "until the next opening/closing"
    override a staff member sets from the staff screen.

``bookdrop.py``
    ``BookDrop(settings, devices, ils, journal, listener=None, clock=time.time, drop_log=None,
    tick_interval=1.0)`` -- the controller
    (the shell): drives ``devices.door_lock``, ``devices.indicators``, reads
    ``devices.slot_sensor`` / ``devices.tag_reader``, journals each return durably *before* it says
    "accepted", checks it in online when the library system answers, and leaves the rest to the
    circulation ``Replayer`` (backdated to the drop time).
    Intents (return immediately, safe from any thread):
      ``start()``, ``close()``, ``request_open()`` (patron touches "Return items"),
      ``set_mode_override(mode | None, until=None)`` (staff), ``bin_emptied()`` (staff),
      ``reset_fault()`` (staff), ``sync()`` (replay now), ``tick(now=None)`` (once a second; the
      controller also runs its own ticker thread when started).
      Event inputs (normally wired to the hardware callbacks by ``start()``, public for tests):
      ``slot_blocked()``, ``slot_cleared()``, ``tag_seen(tag: TagRead)``, ``bin_sensor(full: bool)``.
    Observation (the screens are f(view), like circulation's SessionView):
      ``view() -> BookDropView`` and ``listener(view)`` called FROM A WORKER THREAD after every
      change (marshal it to Kivy's main thread with ``Clock.schedule_once``); ``mode`` (the
      current ``ModeDecision``); ``drop_log`` (for the staff report screen: ``build_report``);
      ``wait_idle(timeout)`` (tests/scripts).
    ``start(wire=True)`` sets ``slot_sensor.when_blocked/when_cleared`` and
    ``tag_reader.when_tag_present``; pass ``wire=False`` when the app forwards those events itself
    (one tag reader shared with the staffed screens).  ``journal`` is the circulation ``Journal``
    (``settings.data_dir / "journal.sqlite3"``); the drop log is ``data_dir / "bookdrop.sqlite3"``.

``view.py`` (pure)
    ``BookDropView`` and ``NightCounts`` (below), ``night_counts(records)``.

``period.py``
    ``ReturnsPeriod`` -- the mode over time: the staff override (kept in
    ``data_dir/afterhours-override.json``), when the returns-only period began (survives restarts,
    from the drop log's events), the transitions; the controller sends the morning report when a
    period ends.

``passes.py`` (pure)
    ``classify_pass(tags, own_isils)`` -- a pass's tags grouped into items (multi-part sets,
    unreadable tags, other libraries' items) before they are written.

``BookDropView`` (frozen)
    ``state`` in {"idle", "ready", "door_open", "reading", "accepted", "refused", "bin_full",
    "fault", "offline_closed"}; ``mode: ModeDecision``; ``door_unlocked: bool``;
    ``seconds_left: int | None`` (hatch auto-locks); ``message_key: str | None`` (stable key the
    screen translates: "returns_only", "insert_item", "item_accepted", "item_accepted_offline",
    "item_refused", "item_unreadable", "item_not_ours", "bin_full", "out_of_order",
    "library_closed_offline", "staffed_mode"); ``items: tuple[DropLine, ...]`` (the last 20,
    newest first); ``online: bool``; ``pending_sync: int``; ``bin_count: int``;
    ``bin_capacity: int`` (0 = no limit); ``bin_full: bool``; ``fault: str | None``;
    ``night: NightCounts`` (accepted, refused, unreadable, holds, transfers in this returns-only
    period); ``version: int`` (increases with every change).

``DropLine`` (frozen)
    ``drop_id: int``, ``item_id: str | None``, ``title: str``, ``dropped_at: datetime``,
    ``state`` in {"reading", "journaled", "checked_in", "queued", "refused", "unreadable",
    "not_ours", "duplicate"}, ``reason_key: str | None`` (circulation reason keys, plus "no_tag",
    "unreadable_tag", "missing_parts", "journal_failed", "routing_from_status"), ``reason_text: str`` (the library
    system's own message, staff only), ``alert`` in {None, "hold_here", "hold_elsewhere",
    "transfer", "other"}, ``sort_bin: str``, ``destination: str``.

``slot.py`` (pure)
    ``SlotMachine(SlotSettings)`` -- the slot's rules as a state machine: events with the time in,
    commands out.  ``DropLine`` and the state constants live here.

``commands.py`` (pure)
    The commands the machine returns: ``Unlock``, ``Lock``, ``Lights``, ``Beep``, ``CommitPass``,
    ``StaffAlert``.

``returns.py``
    ``ReturnSender(ils, journal, drop_log, notify, set_online)`` -- journals each return (acked,
    dated at the drop), sends it at once, replays the rest through the circulation ``Replayer``
    (``RecordingIls`` keeps the check-in answers so routing survives a replay), and reconciles the
    drop log from the journal.  ``recover()`` completes passes a crash left half-written.

``droplog.py``
    ``DropLog(path)`` -- SQLite (synchronous=FULL) record of every drop of the night: what
    was read, the outcome, the routing; the source of the morning report.

``report.py``
    ``build_report(drop_log, since, until=None) -> NightReport``; ``report_to_json(report)``;
    ``report_to_table(report)``; ``send_report(report, settings)`` (via ``kiosk.appliance.alerts`` when
    present).  The staff morning screen renders ``NightReport`` (``.returns``, ``.holds``,
    ``.transfers``, ``.failures``, ``.pending``, ``.counts``).

``messages.py``
    ``MESSAGES`` (message key -> (what happened, what to do), English fallback for the screens),
    ``REASONS`` (the book drop's own reason keys), ``text(key)``.

``cli.py``
    ``kiosk report returns --config FILE --since ISO_TIME [--until ISO_TIME]
    [--format table|json] [--sync] [--send]`` and ``kiosk report bin --config FILE [--emptied]``.

Config: ``[hours]`` (opening hours) and ``[bookdrop]`` (slot timings, bin capacity, sensors) in
:mod:`kiosk.config`, documented in ``config/kiosk.example.toml``; user guide: ``docs/after-hours.md``.
"""
