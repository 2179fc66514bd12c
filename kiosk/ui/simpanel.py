"""The demo-only simulation panel: tap demo cards and place/lift demo items on the simulated pad.

Shown only by ``kiosk demo`` in a window, beside (never over) the 800x480 kiosk screen.  It talks
to the simulated devices exactly as a patron's hands would: a card tap, a tag in the field.
"""

from __future__ import annotations

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.togglebutton import ToggleButton

# Which demo patrons and items are worth a button (the seed's scenarios say why).
MAX_ITEMS = 24


def make_panel(library: dict, devices, width: int = 300):  # noqa: ANN001,ANN201
    """A factory for KioskApp(side_panel=...): returns a function building the panel widget."""

    def build(_app):  # noqa: ANN001,ANN202
        outer = BoxLayout(orientation="vertical", size_hint_x=None, width=dp(width), padding=dp(6),
                          spacing=dp(4))
        outer.add_widget(Label(text="[b]Simulation (demo only)[/b]", markup=True, size_hint_y=None,
                               height=dp(28)))
        scroll = ScrollView(do_scroll_x=False)
        col = BoxLayout(orientation="vertical", size_hint_y=None, spacing=dp(3))
        col.bind(minimum_height=col.setter("height"))

        def header(text: str) -> None:
            col.add_widget(Label(text=text, bold=True, size_hint_y=None, height=dp(26)))

        header("Tap a library card")
        for p in library.get("patrons", [])[:14]:
            pin = f" PIN {p['pin']}" if p.get("pin") else ""
            b = Button(text=f"{p['name']}{pin}\n[size=11]{p.get('scenario', '')[:40]}[/size]",
                       markup=True, size_hint_y=None, height=dp(48), halign="center")
            b.bind(on_release=lambda _b, card=p["card"]: devices.card_reader.tap(card))
            col.add_widget(b)
        header("Place / lift items")
        placed: dict[str, str] = {}
        for item in library.get("items", [])[:MAX_ITEMS]:
            state = item.get("status", "")
            t = ToggleButton(text=f"{item['title'][:26]}\n[size=11]{item['barcode']} {state}[/size]",
                             markup=True, size_hint_y=None, height=dp(44))

            def flip(btn, value, it=item):  # noqa: ANN001,ANN202
                if value == "down":
                    placed[it["barcode"]] = devices.tag_reader.place(it["barcode"], parts_in_item=it.get("parts", 1))
                elif it["barcode"] in placed:
                    devices.tag_reader.remove(placed.pop(it["barcode"]))

            t.bind(state=flip)
            col.add_widget(t)
        from kiosk.station.demo import panel_actions  # staff station: blank and barcode-only tags

        for text, action in panel_actions(library, devices):
            extra = Button(text=text, size_hint_y=None, height=dp(40))
            extra.bind(on_release=lambda _b, act=action: act())
            col.add_widget(extra)
        clear = Button(text="Lift everything off the pad", size_hint_y=None, height=dp(44))

        def lift(_b):  # noqa: ANN001,ANN202
            devices.tag_reader.clear()
            placed.clear()
            for w in col.children:
                if isinstance(w, ToggleButton):
                    w.state = "normal"

        clear.bind(on_release=lift)
        col.add_widget(clear)
        scroll.add_widget(col)
        outer.add_widget(scroll)
        return outer

    return build
