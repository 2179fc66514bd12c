"""Kivy-side helpers shared by the screens: design system, translations, the thread->UI door,
widgets, sounds, and the headless driver used by tests, the tour and the benchmark.

Importing :mod:`kiosk.ui.kivyenv` first (``prepare()``) is required before anything imports
Kivy, so that Kivy writes nothing to ``~/.kivy`` and ignores the command line.
"""
