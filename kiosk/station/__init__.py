"""The staff station: program RFID tags for new and converted items, and check the shelves.

Vendors sell these as "staff stations" and "conversion stations"; here the kiosk's own pad reader,
scanner and library-system link do the work (issue 17).  A pure core and a thin shell:

* :mod:`kiosk.station.program` (pure) -- what to write on each tag of an item (data model, owner
  ISIL, media format, set information), what is already on a tag, and whether a read-back matches.
* :mod:`kiosk.station.inventory` (pure) -- which items found on a shelf need action, and why.
* :mod:`kiosk.station.store` -- the durable record (SQLite, fsync) of every programmed tag and
  every item seen on a shelf, with ``unverified`` rows settled after a crash.
* :mod:`kiosk.station.library` -- item look-up and "mark seen" (SIP2 17/18 and 19/20).
* :mod:`kiosk.station.programmer`, :mod:`kiosk.station.shelf` -- the shell: reader, library system
  and store put together; never called from Kivy's main thread.
* :mod:`kiosk.station.cli` -- ``kiosk tag program``, ``kiosk inventory``, ``kiosk tags export``.
"""
