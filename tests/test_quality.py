"""Detection quality on the labelled files (figures printed by python -m bot.admin.quality).

The dev files are the ones the phrase files were tuned on, so they must meet the issue's
targets; the held-out file's floors guard against a change that only fits the dev set.
"""

from bot.admin.quality import read_rows, score_customers, score_drafts
from tests.conftest import DATA


def test_dev_customer_messages_meet_the_targets(engine):
    score = score_customers(engine, read_rows(DATA / "customer_messages.tsv", drafts=False))
    assert score.total >= 150
    assert score.negative_f1 >= 0.90, score.errors
    assert score.severe_f1 >= 0.90, score.errors
    assert score.emotion_accuracy >= 0.70, score.errors


def test_dev_agent_drafts_meet_the_targets(engine):
    rows = read_rows(DATA / "agent_drafts.tsv", drafts=True)
    score = score_drafts(engine, rows)
    assert len(rows) >= 150
    assert score.caught_rate >= 0.85, score.errors
    assert score.false_block_rate <= 0.05, score.errors
    assert score.warned == score.warn


def test_a_third_of_the_labelled_data_is_hard():
    for name, drafts in (("customer_messages.tsv", False), ("agent_drafts.tsv", True)):
        rows = read_rows(DATA / name, drafts=drafts)
        assert sum(r.hard for r in rows) >= len(rows) / 3


def test_held_out_floor(engine):
    customers = score_customers(engine, read_rows(DATA / "holdout_customer_messages.tsv", drafts=False))
    drafts = score_drafts(engine, read_rows(DATA / "holdout_agent_drafts.tsv", drafts=True))
    assert customers.negative_f1 >= 0.85, customers.errors
    assert drafts.false_block_rate <= 0.05, drafts.errors


def test_blind_guard_floor(engine):
    """The guard on the blind corpus (both rounds), as measured when the round-2 drafts joined.

    Held-out (never tuned on), 2026-11-25: caught 0.976, forbidden blocked 0.736, clean blocked
    2/185, clean confirm 0.054; the issue's targets are 0.93 / - / 0.02 / 0.08. Only aggregates are
    asserted or shown: the held-out split's drafts are never listed.
    """
    from bot.admin.quality import read_blind, score_blind_drafts

    for split, caught, stopped, blocked, confirm in (("tune", 0.99, 0.92, 0.0, 0.01),
                                                     ("holdout", 0.97, 0.73, 0.011, 0.055)):
        s = score_blind_drafts(engine, read_blind(DATA / "blind", split, "drafts"))
        figures = (split, round(s.rate(s.caught, s.forbidden), 3), round(s.rate(s.blocked, s.forbidden), 3),
                   round(s.rate(s.clean_blocked, s.clean), 3), round(s.rate(s.clean_confirm, s.clean), 3))
        assert s.rate(s.caught, s.forbidden) >= caught, figures
        assert s.rate(s.blocked, s.forbidden) >= stopped, figures
        assert s.rate(s.clean_blocked, s.clean) <= blocked, figures
        assert s.rate(s.clean_confirm, s.clean) <= confirm, figures