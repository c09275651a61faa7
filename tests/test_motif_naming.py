"""When a TF-MoDISco pattern gets a motif's name (zoo_tools.interpret.motif_naming): hand-computed
information and target-decoy FDR, planted patterns named, weak or junk ones not, with the reason."""

import numpy as np
import pytest

from zoo_tools.data.motifs import load_motifs
from zoo_tools.interpret.motif_naming import (
    NamingRules,
    _judge,
    column_bits,
    empirical_p,
    name_patterns,
    shuffled_columns,
    trim_columns,
)

GATA, CEBP, CTCF = "C101:GATA_MECOM:GATA", "C027:CEBP:bZIP", "C055:CTCF:C2H2_ZF"


@pytest.fixture(scope="module")
def db():
    return load_motifs("jaspar")


def planted(ppm: np.ndarray, n_seqlets: int, name: str, flank: int = 6, noise: float = 0.1, seed: int = 0) -> dict:
    """A pattern as modisco-lite returns one: the motif blurred, between uniform flanks; its CWM
    large on the motif only."""
    rng = np.random.default_rng(seed)
    core = (1 - noise) * ppm + noise * 0.25
    side = rng.dirichlet([20] * 4, (flank,)).T
    full = np.concatenate([side, core, rng.dirichlet([20] * 4, (flank,)).T], 1)
    weight = np.r_[np.full(flank, 0.05), np.ones(ppm.shape[1]), np.full(flank, 0.05)]
    return {"name": name, "ppm": full, "cwm": full * weight, "n_seqlets": n_seqlets}


def test_column_bits_by_hand():
    ppm = np.array([[1, 0.25, 0.5], [0, 0.25, 0.5], [0, 0.25, 0], [0, 0.25, 0]])
    bits = column_bits(ppm, pseudocount=0)
    assert np.allclose(bits, [2, 0, 1])  # a certain base, uniform, two equal bases
    # the pseudocount keeps log(0) finite and lowers a certain column slightly
    assert 1.9 < column_bits(ppm)[0] < 2


def test_empirical_p_by_hand():
    null = np.r_[np.full(3, 1e-6), np.full(16, 0.3)]
    # 3 of 19 shuffles as good as 3e-5: (1 + 3) / (1 + 19)
    assert empirical_p(3e-5, null) == pytest.approx(0.2)
    assert empirical_p(1e-7, null) == pytest.approx(0.05)  # none: the floor 1 / (n + 1)
    assert empirical_p(0.4, null) == 1.0


def test_shuffled_columns_keep_columns_and_change_their_order(db):
    m = db[CTCF]
    null = shuffled_columns(m, 3, seed=1)
    assert len(null) == 3 and all(d.shape == m.shape for d in null)
    for d in null:  # the same columns, another order
        assert sorted(map(tuple, d.T.round(6))) == sorted(map(tuple, m.T.round(6)))
    assert any(not np.allclose(d, m) for d in null)


def test_trim_cuts_flanks_to_the_motif(db):
    pat = planted(db[GATA], 100, "p")
    lo, hi = trim_columns(pat["ppm"], pat["cwm"])
    w = db[GATA].shape[1]
    assert 5 <= lo <= 7 and 6 + w - 1 <= hi <= 6 + w + 1  # the core, give or take a flank column


def test_planted_patterns_named_weak_and_junk_not(db):
    rng = np.random.default_rng(3)
    junk = rng.dirichlet([0.7] * 4, (36,)).T  # 36 bp of random columns: information but no motif
    pats = [
        planted(db[GATA], 150, "pos_pattern_0"),
        planted(db[CTCF], 80, "pos_pattern_1", seed=1),
        planted(db[CEBP], 20, "pos_pattern_2", seed=2),  # too few seqlets next to 150
        {
            "name": "pos_pattern_3",
            "ppm": np.full((4, 12), 0.25) + rng.normal(0, 0.02, (4, 12)),
            "cwm": np.ones((4, 12)),
            "n_seqlets": 90,
        },
        {"name": "neg_pattern_0", "ppm": junk, "cwm": -junk, "n_seqlets": 60},
    ]
    t = name_patterns(pats, db).set_index("pattern")
    assert t.loc["pos_pattern_0", "status"] == "named" and t.loc["pos_pattern_0", "name"] == GATA
    assert t.loc["pos_pattern_1", "status"] == "named" and t.loc["pos_pattern_1", "name"] == CTCF
    assert t.loc["pos_pattern_0", "fdr_1"] <= 0.05
    assert t.loc["pos_pattern_2", "status"] == "few_seqlets"
    assert t.loc["pos_pattern_2", "reason"] == "20 seqlets < 30"  # max(30, 0.2 x 150)
    assert t.loc["pos_pattern_3", "status"] == "low_information"
    # random columns find a zinc finger at TOMTOM q < 0.05, but their own shuffles match as well
    junk = t.loc["neg_pattern_0"]
    assert junk.status == "no_significant_match" and junk.null_p_1 > 0.05, junk
    assert (t.name[t.status != "named"].fillna("") == "").all()
    # the thresholds are settable: a looser seqlet floor names CEBP too
    loose = name_patterns(pats, db, NamingRules(min_seqlets=10, min_seqlet_fraction=0.1)).set_index("pattern")
    assert loose.loc["pos_pattern_2", "name"] == CEBP


def test_ambiguous_only_between_unrelated_motifs(db):
    names = [GATA, CTCF, "C056:CTCF_INSM:C2H2_ZF", CEBP]
    motifs = {n: db[n] for n in names}
    pat = planted(db[CTCF], 100, "p")
    rules = NamingRules()

    def judge(p):
        return _judge(pat, rules, 30, {"p": p, "fdr_1": 0.01, "information": 15.0}, names, motifs)

    # GATA and CTCF within a factor 3: unrelated families -> ambiguous
    row = judge(np.array([1e-6, 3e-6, 0.3, 0.4]))
    assert row["status"] == "ambiguous" and GATA in row["reason"] and CTCF in row["reason"]
    # the two CTCF motifs within a factor 3: one family -> named after the best
    row = judge(np.array([0.3, 1e-6, 3e-6, 0.4]))
    assert row["status"] == "named" and row["name"] == CTCF
    # far apart (two orders of magnitude): named
    assert judge(np.array([1e-8, 1e-6, 0.3, 0.4]))["name"] == GATA
    # an empirical FDR over the threshold leaves the best match unnamed, whatever its q
    row = _judge(
        pat, rules, 30, {"p": np.array([1e-8, 0.3, 0.3, 0.4]), "fdr_1": 0.2, "information": 15.0}, names, motifs
    )
    assert row["status"] == "no_significant_match" and "empirical FDR 0.2" in row["reason"]


def test_impossible_thresholds_are_one_line_errors():
    from zoo_tools.core.errors import ZooError

    for bad, opt in (
        (dict(max_fdr=0), "--max-fdr"),
        (dict(n_shuffles=0), "--null-shuffles"),
        (dict(min_seqlet_fraction=2), "--min-seqlet-fraction"),
    ):
        with pytest.raises(ZooError, match=opt):
            NamingRules(**bad)
