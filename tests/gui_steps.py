"""Steps a patron takes that many GUI tests begin with (on a kiosk from the ``gui_kiosk`` fixture)."""

from __future__ import annotations


def borrower(lib: dict) -> dict:
    """A patron of the demo library who may borrow and has no PIN."""
    return next(p for p in lib["patrons"] if p["status"] == "ok" and not p.get("pin") and p["can_checkout"])


def shelf(lib: dict, n: int) -> list[dict]:
    """``n`` single-part items on the shelf, with no hold on them."""
    return [i for i in lib["items"] if i["status"] == "available" and not i["holds"] and i["parts"] == 1][:n]


def open_borrowing(k) -> dict:  # noqa: ANN001
    """Borrow, the borrower's card typed as a scanner would: the items screen; the patron."""
    d, patron = k.driver, borrower(k.library)
    d.tap(d.button("Borrow"))
    d.until_screen("identify")
    d.type(patron["card"])
    d.until_screen("items", 15)
    return patron


def borrow_one(k) -> tuple[dict, dict]:  # noqa: ANN001
    """Borrowing opened and one item checked out, the screen settled; (patron, item)."""
    patron, (item,) = open_borrowing(k), shelf(k.library, 1)
    k.devices.tag_reader.place(item["barcode"])
    k.driver.until(lambda: [i.state for i in k.app.view.items] == ["done"], 20, "the checkout")
    k.driver.settle()
    return patron, item
