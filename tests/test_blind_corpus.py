"""The blind corpus is what its README says: big enough, mixed enough, and its split frozen."""

import hashlib
from collections import Counter

from bot.admin.quality import ROUNDS, blind_files, read_blind, read_blind_customers, read_blind_drafts
from tests.conftest import DATA

BLIND = DATA / "blind"


def held_out(text: str) -> bool:
    return int(hashlib.sha1(text.encode()).hexdigest(), 16) % 100 < 35


def test_the_split_is_the_frozen_hash_split_and_nothing_moved():
    for kind in ("drafts", "customers"):
        for _, suffix in ROUNDS:
            tune, hold = read_blind(BLIND, "tune", kind, suffix), read_blind(BLIND, "holdout", kind, suffix)
            assert bool(tune) == bool(hold)         # a round wrote both splits of a kind, or neither
            assert all(held_out(r.text) for r in hold) and not any(held_out(r.text) for r in tune)
            assert len(hold) >= 0.3 * (len(tune) + len(hold))
        everything = [r.text for split in ("tune", "holdout") for r in read_blind(BLIND, split, kind)]
        assert len(everything) == len(set(everything))      # no text twice, across splits and rounds


def test_every_round_file_is_read():
    assert len(blind_files(BLIND, "holdout", "customers")) == len(ROUNDS)
    assert len(blind_files(BLIND, "tune", "customers")) == len(ROUNDS)
    assert len(blind_files(BLIND, "tune", "drafts")) == 2      # rounds 3 to 6 wrote customer messages only


def test_the_corpus_has_the_size_and_mix_the_issue_asks_for():
    drafts = read_blind_drafts(BLIND / "tune_drafts.tsv") + read_blind_drafts(BLIND / "holdout_drafts.tsv")
    customers = (read_blind_customers(BLIND / "tune_customers.tsv")
                 + read_blind_customers(BLIND / "holdout_customers.tsv"))     # round 1 alone meets the issue
    assert len(drafts) >= 800 and len(customers) >= 800
    clean = [d for d in drafts if d.label == "ok"]
    assert len(clean) >= 0.4 * len(drafts)
    assert sum(d.kind != "plain" for d in clean) > len(clean) / 2       # most clean drafts are hard negatives
    assert set(Counter(d.label for d in drafts)) == {"ok", *map(str, range(1, 11))}
    assert {c.emotion for c in customers} == {"anger", "anxiety", "disappointment", "dissatisfaction", "none"}
    assert len({c.industry for c in customers}) >= 12
