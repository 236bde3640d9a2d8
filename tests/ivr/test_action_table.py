"""The actions the call flow can ask for are found in explicit tables, never by building a
method name from a class name: every action type has a method that performs it and a
settler that reads its outcome, and a table missing one fails here, not in a call."""

from __future__ import annotations

import importlib
import pkgutil
import typing

import ivr
from ivr import flow
from ivr.actions import PERFORMERS, Call, CoreActions
from ivr.state import Action, Book, FindCallerPatients, Outcome


def action_types() -> set[type[Action]]:
    """Every kind of action the flow can emit: each subclass of ``Action`` defined in a
    module of the ``ivr`` package (read from the modules, not ``__subclasses__()``, which
    also lists the classes a slotted dataclass replaced)."""
    found: set[type[Action]] = set()
    for info in pkgutil.walk_packages(ivr.__path__, "ivr."):
        module = importlib.import_module(info.name)
        found |= {
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Action)
            and value is not Action
            and value.__module__ == module.__name__
        }
    return found


def test_there_are_actions_to_check():
    assert {Book, FindCallerPatients} <= action_types()


def test_every_action_the_flow_can_ask_for_has_a_performer():
    assert set(PERFORMERS) == action_types()


def test_every_action_the_flow_can_ask_for_has_a_settler():
    assert set(flow.SETTLERS) == action_types()


def test_a_table_missing_an_action_is_caught():
    """The negative control: the check above fails for a table with one entry less."""
    table = {k: v for k, v in PERFORMERS.items() if k is not Book}
    assert action_types() - set(table) == {Book}


def test_each_performer_takes_its_own_action():
    for action, method in PERFORMERS.items():
        assert typing.get_type_hints(method)["action"] is action, method.__name__


async def test_perform_dispatches_through_the_table():
    """A caller without a number has no registered patients: answered by the table's
    method without asking the core (no services needed)."""
    actions = CoreActions(services=None, queue="q")
    call = Call(call_sid="CA1", hospital_code="H001", hospital_id=1, timezone="UTC", caller="")
    assert await actions.perform(FindCallerPatients(), call) == Outcome(value=[])
