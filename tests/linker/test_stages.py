"""Customer stages from mail activity (pure): prospect, new, active, dormant, lost."""

from __future__ import annotations

from datetime import datetime, timedelta

from linker import Trail, customer_stage

NOW = datetime(2026, 1, 15, 12, 0)


def trail(first_days_ago: float, last_days_ago: float, answered: bool = True) -> Trail:
    return Trail(NOW - timedelta(days=first_days_ago), NOW - timedelta(days=last_days_ago), answered)


def test_a_customer_that_never_wrote_to_us_is_a_prospect_however_recent_our_mail():
    assert customer_stage(trail(3, 1, answered=False), NOW) == "prospect"
    assert customer_stage(trail(800, 700, answered=False), NOW) == "prospect"
    assert customer_stage(None, NOW) == "prospect"  # no mail at all yet


def test_a_first_contact_within_90_days_is_new_and_an_older_one_active():
    assert customer_stage(trail(90, 2), NOW) == "new"
    assert customer_stage(trail(91, 2), NOW) == "active"


def test_no_mail_for_90_days_is_dormant_and_for_a_year_lost():
    assert customer_stage(trail(400, 89), NOW) == "active"
    assert customer_stage(trail(400, 90), NOW) == "dormant"
    assert customer_stage(trail(400, 364), NOW) == "dormant"
    assert customer_stage(trail(800, 365), NOW) == "lost"


def test_the_dormant_threshold_is_configurable_and_lost_still_wins_after_a_year():
    assert customer_stage(trail(400, 45), NOW, dormant_days=30) == "dormant"
    assert customer_stage(trail(400, 45), NOW, dormant_days=60) == "active"
    assert customer_stage(trail(900, 400), NOW, dormant_days=500) == "lost"
