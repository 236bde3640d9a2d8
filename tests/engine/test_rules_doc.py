"""docs/rules.md's table is written from the code: every rule's names, explanation and
default, and every door's words for each refusal (``python -m engine.rules_doc --write``)."""

from __future__ import annotations

from booking_core.rules import REFUSALS, RuleKey
from engine import rules_doc


def test_the_rules_document_is_current():
    current = rules_doc.DOCUMENT.read_text("utf-8")
    assert current == rules_doc.render(current), f"stale: run {rules_doc.COMMAND}"


def test_every_rule_is_in_the_table_with_its_names_and_default():
    table = rules_doc.table()
    for key in RuleKey:
        assert f"(`{key}`)" in table, key


def test_every_refusal_has_an_example_worded_by_every_door_that_gives_it():
    for key, codes in REFUSALS.items():
        for code in codes:
            for err in rules_doc.samples(key, code):
                words = rules_doc.door_words(key, err)
                doors = rules_doc.ONLY_AT.get(key)
                assert len(words) == (len(doors) * 2 if doors else 8), (key, code)
                for door, text in words:
                    assert text.strip(), (key, code, door)
                    assert text != code, (key, code, door)  # a catalogue that lacks the code


def test_the_table_is_rewritten_between_its_markers_only():
    text = "# Rules\n\nprose before\n\n" + rules_doc.table() + "\n\n## After\n\nprose after\n"
    stale = text.replace("| 7 |", "| 8 |").replace("`7`", "`8`")
    assert stale != text
    assert rules_doc.render(stale) == text
    assert rules_doc.main(["--check"]) == 0
