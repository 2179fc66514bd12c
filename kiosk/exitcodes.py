"""The exit codes of every ``kiosk`` command: one meaning each, in one place.

Scripts, systemd and staff read these; each command module imports them from here instead of
writing numbers of its own.  The README's command table lists the same codes.

    0   completed (also when the library system said no: a refusal is an answer)
    1   configuration error (the message names the file, key and expectation)
    2   protocol error (the library system answered something we cannot understand)
    3   library system unreachable, or no reply in time (and the policy refused to work offline)
    4   local storage error: the journal or another durable store is damaged, read-only or full
    5   hardware error: a device could not be opened, read or written
    64  usage error: unknown command, missing or malformed argument (EX_USAGE of sysexits.h)
    75  restart requested from staff mode (EX_TEMPFAIL: systemd starts the kiosk again)
    130 interrupted (Ctrl-C)
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CONFIG = 1
EXIT_PROTOCOL = 2
EXIT_UNREACHABLE = 3
EXIT_STORAGE = 4
EXIT_HARDWARE = 5
EXIT_USAGE = 64
EXIT_RESTART = 75
EXIT_INTERRUPTED = 130
