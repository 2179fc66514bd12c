"""Speech output: each screen's instruction and each item result, spoken in the session language.

ADA §707.5 and EN 301 549 (§5.1.3, §8.2) ask self-service machines for speech output; commercial
library kiosks rarely have it and the open-source ones not at all.  Two parts, as everywhere in
the kiosk (reference style.md): a pure core and a thin shell.

* :mod:`kiosk.speech.texts` -- pure: what to say for every screen and state, and for each item
  result, translated through the patron catalogs (``kiosk/locale``).  No names unless the library
  enables ``[speech] speak_personal_data``; card numbers and PINs never.
* :mod:`kiosk.speech.engine` -- the shell: espeak-ng (Debian / Raspberry Pi OS package
  ``espeak-ng``, fully offline) run as a subprocess from one worker thread, never on Kivy's main
  thread; a new screen interrupts what is being said, item results queue behind each other.
* :mod:`kiosk.speech.narrator` -- decides, from one session view to the next, what is new and
  worth saying, and hands it to the engine.
"""
