"""``@record`` (kiosk/circulation/record.py): the session view's frozen value classes behave as
``@dataclass(frozen=True)`` ones did, with their methods written once instead of compiled per class
at import (issue 19: start-up)."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from kiosk.circulation.record import Record, record
from kiosk.circulation.view import ItemLine, PatronSummary, SessionView


@record
class Loan(Record):
    item_id: str
    title: str = ""
    renewals: int = 0


def test_built_by_position_or_keyword_in_field_order_with_defaults():
    assert Loan("B1", "Solaris") == Loan(item_id="B1", title="Solaris") == Loan("B1", title="Solaris", renewals=0)
    assert Loan("B1").title == "" and Loan("B1").renewals == 0
    assert [f.name for f in dataclasses.fields(Loan)] == ["item_id", "title", "renewals"]


@pytest.mark.parametrize(("args", "kw", "words"), [
    ((), {}, "missing required argument: 'item_id'"),
    (("B1", "t", 1, "extra"), {}, "takes 3 positional arguments but 4 were given"),
    (("B1",), {"item_id": "B2"}, "multiple values for argument 'item_id'"),
    (("B1",), {"due": "today"}, "unexpected keyword argument 'due'"),
])
def test_wrong_arguments_are_refused_as_a_dataclass_refuses_them(args, kw, words):
    with pytest.raises(TypeError, match=words):
        Loan(*args, **kw)


def test_frozen_equal_and_hashed_by_value():
    loan = Loan("B1", "Solaris")
    with pytest.raises(dataclasses.FrozenInstanceError):
        loan.title = "Other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del loan.title
    assert loan == Loan("B1", "Solaris") and hash(loan) == hash(Loan("B1", "Solaris"))
    assert loan != Loan("B1", "Solaris", 1) and loan != ("B1", "Solaris", 0)
    assert len({loan, Loan("B1", "Solaris"), Loan("B2")}) == 2
    assert repr(loan) == "Loan(item_id='B1', title='Solaris', renewals=0)"


def test_the_dataclass_tools_work_on_records():
    loan = Loan("B1", "Solaris")
    assert dataclasses.is_dataclass(loan)
    assert dataclasses.replace(loan, renewals=2) == Loan("B1", "Solaris", 2)
    assert dataclasses.asdict(loan) == {"item_id": "B1", "title": "Solaris", "renewals": 0}
    assert copy.copy(loan) == loan and pickle.loads(pickle.dumps(loan)) == loan


def test_a_default_made_per_instance_is_refused():
    with pytest.raises(TypeError, match="plain values"):
        @record
        class Basket(Record):
            items: list = dataclasses.field(default_factory=list)


def test_the_session_view_records():
    item = ItemLine("B1", title="Solaris", state="done")
    view = SessionView(state="working", patron=PatronSummary(name="Ada"), items=(item,))
    assert view.items_done == (item,) and item.settled
    assert dataclasses.replace(view, items=()) == SessionView(state="working", patron=PatronSummary(name="Ada"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.state = "idle"
