"""Subjects: the shapes bots and projectors rely on."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bus import subjects

OWNER = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"


def test_commands_are_published_on_their_snake_case_kind():
    assert subjects.command_for_type("PlaceOrder") == "qd.cmd.place_order"
    assert subjects.command("open_account") == "qd.cmd.open_account"
    assert subjects.command_kind("qd.cmd.cancel_all") == "cancel_all"


def test_events_are_addressed_by_scope_key_and_type():
    assert subjects.event("account", OWNER, "Deposited") == f"qd.evt.account.{OWNER}.Deposited"
    assert subjects.event("insurance_fund", None, "Paid") == "qd.evt.insurance_fund._.Paid"
    assert subjects.scope_of("CommandReceipt") == "receipt"
    assert subjects.scope_of("InsuranceFund") == "insurance_fund"
    assert subjects.account_events(OWNER) == f"qd.evt.account.{OWNER}.>"
    assert subjects.market_events("SOL-PERP") == "qd.evt.market.SOL-PERP.>"
    assert subjects.parse_event("qd.evt.market.SOL-PERP.OrderFilled") == (
        "market", "SOL-PERP", "OrderFilled")


def test_streams_and_replies_never_overlap():
    for subject in (subjects.reply_prefix(OWNER) + ".x", subjects.RPC_RECEIPT):
        assert not subject.startswith(("qd.cmd.", "qd.evt."))


@pytest.mark.parametrize("bad", ["a.b", "a b", "*", ">", "x>"])
def test_a_key_that_would_change_the_subject_shape_is_refused(bad):
    with pytest.raises(ValueError):
        subjects.event("market", bad, "Listed")


@given(st.from_regex(r"[A-Za-z0-9_\-]{1,40}", fullmatch=True),
       st.from_regex(r"[A-Z][A-Za-z]{0,30}", fullmatch=True))
def test_event_subjects_parse_back(key, event_type):
    assert subjects.parse_event(subjects.event("account", key, event_type)) == (
        "account", key, event_type)
