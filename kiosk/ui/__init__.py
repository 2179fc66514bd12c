"""Kivy-side helpers shared by the screens: design system, translations, the thread->UI door,
widgets, sounds, and the headless driver used by tests, the tour and the benchmark.  Also the
scripted screenshot tour itself (``kiosk.ui.tour``, on that driver and ``kiosk.ui.harness``) and the
e-mailed receipt (``kiosk.ui.receipt_mail``, from the same lines ``kiosk.ui.present`` prints).

Importing :mod:`kiosk.ui.kivyenv` first (``prepare()``) is required before anything imports
Kivy, so that Kivy writes nothing to ``~/.kivy`` and ignores the command line.
"""
