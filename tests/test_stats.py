"""The variant-effect statistics of zoo_tools.score.stats against their peers' own formulas.

* ``sad`` and ``l2``: calico/baskerville ``src/baskerville/snps.py`` ``compute_scores`` (stats
  ``SUM``, formerly ``SAD``, and ``D2``), whose predictions are ``(num_shifts, seq_length,
  num_targets)``; here one shift, the scored bins as the length axis.
* ``jsd``: kundajelab/variant-scorer ``src/utils/helpers.py`` ``get_variant_scores``, one
  ``scipy.spatial.distance.jensenshannon(alt_profile, ref_profile, base=2.0)`` per row.
"""

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from zoo_tools.core.errors import ZooError
from zoo_tools.score.formats import _KIND_TEXT
from zoo_tools.score.stats import SCORES, effect_scores, parse_scores, score_bins


def _random_preds(seed=0, n=7, T=3, B=12):
    rng = np.random.default_rng(seed)
    ref = rng.gamma(2.0, 1.5, (n, T, B))
    alt = ref * rng.lognormal(0.0, 0.4, (n, T, B))
    return ref.astype(np.float32), alt.astype(np.float32)


def _baskerville(ref_preds, alt_preds, stat):
    """baskerville snps.py compute_scores, lines quoted, for one variant's (1, B, T) predictions."""
    num_shifts, seq_length, num_targets = ref_preds.shape
    # ref_preds_sum = ref_preds.sum(axis=(0, 1)) / num_shifts
    ref_preds_sum = ref_preds.sum(axis=(0, 1)) / num_shifts
    # alt_preds_sum = alt_preds.sum(axis=(0, 1)) / num_shifts
    alt_preds_sum = alt_preds.sum(axis=(0, 1)) / num_shifts
    # altref_diff = alt_preds - ref_preds
    altref_diff = alt_preds - ref_preds
    if stat == "SUM":
        # if "SUM" in snp_stats: sad = alt_preds_sum - ref_preds_sum
        return alt_preds_sum - ref_preds_sum
    # if "D2" in snp_stats: sad_d2 = np.linalg.norm(altref_diff, ord=2, axis=1)
    sad_d2 = np.linalg.norm(altref_diff, ord=2, axis=1)
    # strand_clip_save("D2", sad_d2.mean(axis=0), d2=True)  (no strand transform, no float16 here)
    return sad_d2.mean(axis=0)


def _peer(ref, alt, stat):
    """baskerville on each variant: (T, B) -> its (1 shift, B length, T targets) layout -> (n, T)."""
    r, a = ref.astype(np.float64), alt.astype(np.float64)
    return np.stack([_baskerville(r[i].T[None], a[i].T[None], stat) for i in range(len(r))])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sad_is_baskerville_sum(seed):
    ref, alt = _random_preds(seed)
    got = effect_scores(ref, alt, ["sad"], slice(0, ref.shape[-1]))["sad"]
    assert got.shape == ref.shape[:2] and got.dtype == np.float64
    np.testing.assert_allclose(got, _peer(ref, alt, "SUM"), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_l2_is_baskerville_d2(seed):
    ref, alt = _random_preds(seed)
    got = effect_scores(ref, alt, ["l2"], slice(0, ref.shape[-1]))["l2"]
    assert got.shape == ref.shape[:2] and got.dtype == np.float64
    np.testing.assert_allclose(got, _peer(ref, alt, "D2"), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, np.sqrt(((alt.astype(float) - ref) ** 2).sum(-1)), rtol=1e-12)


def _variant_scorer_jsd(ref, alt):
    """variant-scorer get_variant_scores: jensenshannon(x, y, base=2.0) for x, y in zip(alt, ref)
    profiles, one (variant, task) row at a time; the profiles here are the predictions clipped at 0
    and divided by their sum over the bins (variant-scorer's adjust_indel_jsd: p / np.sum(p))."""
    n, T, B = ref.shape
    out = np.empty((n, T))
    for i in range(n):
        for t in range(T):
            x = np.maximum(alt[i, t].astype(np.float64), 0)
            y = np.maximum(ref[i, t].astype(np.float64), 0)
            out[i, t] = jensenshannon(x / np.sum(x), y / np.sum(y), base=2.0)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_jsd_is_variant_scorer_jensenshannon(seed):
    ref, alt = _random_preds(seed)
    alt[0, 0, :4] = -1.0  # negative predictions are clipped at 0 before normalising
    got = effect_scores(ref, alt, ["jsd"], slice(0, ref.shape[-1]))["jsd"]
    assert got.shape == ref.shape[:2] and got.dtype == np.float64
    np.testing.assert_allclose(got, _variant_scorer_jsd(ref, alt), rtol=1e-10, atol=1e-12)
    assert ((got >= 0) & (got <= 1)).all()


def test_jsd_by_hand():
    ref = np.array([[[1.0, 2.0, 3.0, 0.0], [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]])
    alt = np.array([[[2.0, 4.0, 6.0, 0.0], [0.0, 0.0, 5.0, 5.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 4.0]]])
    got = effect_scores(ref, alt, ["jsd"], slice(0, 4))["jsd"][0]
    assert got[0] == 0.0  # the same profile at twice the scale
    assert got[1] == pytest.approx(1.0)  # disjoint profiles: the largest distance, base 2
    assert got[2] == 0.0  # both all zero: both uniform
    # all-zero ref taken as uniform (1/4 each) vs a point mass on bin 3: m = (1/8, 1/8, 1/8, 5/8)
    js = (3 * 0.25 * np.log2(0.25 / 0.125) + 0.25 * np.log2(0.25 / 0.625) + np.log2(1 / 0.625)) / 2
    assert got[3] == pytest.approx(np.sqrt(js))
    assert got[3] == pytest.approx(jensenshannon([0, 0, 0, 1.0], [0.25] * 4, base=2.0))
    neg = effect_scores(-ref, -alt, ["jsd"], slice(0, 4))["jsd"][0]  # all clipped to 0: uniform
    assert (neg == 0.0).all()
    nan = effect_scores(np.full((1, 1, 4), np.nan), alt[:, :1], ["jsd"], slice(0, 4))["jsd"]
    assert np.isnan(nan).all()  # a NaN prediction stays NaN, not taken as an all-zero profile


def test_sad_l2_by_hand():
    ref = np.array([[[1.0, 3.0, 0.0, 0.0]]])
    alt = np.array([[[1.0, 7.0, 0.0, -2.0]]])
    s = effect_scores(ref, alt, ["sad", "l2"], slice(0, 4))
    assert s["sad"][0, 0] == 2.0  # (7 - 3) + (-2 - 0)
    assert s["l2"][0, 0] == pytest.approx(np.sqrt(16 + 4))


def test_scored_bins_are_honoured():
    ref, alt = _random_preds(3, B=20)
    bins = score_bins(20, 15, 5)
    assert bins == slice(13, 18)
    got = effect_scores(ref, alt, SCORES, bins)
    inner = effect_scores(ref[:, :, bins], alt[:, :, bins], SCORES, slice(0, 5))
    for k in SCORES:
        np.testing.assert_array_equal(got[k], inner[k], err_msg=k)
    rb, ab = ref[:, :, bins], alt[:, :, bins]
    np.testing.assert_allclose(got["sad"], _peer(rb, ab, "SUM"), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["l2"], _peer(rb, ab, "D2"), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["jsd"], _variant_scorer_jsd(rb, ab), rtol=1e-10, atol=1e-12)
    alt2 = alt.copy()
    alt2[:, :, :13] += 100.0  # outside the scored bins: no score moves
    alt2[:, :, 18:] = -5.0
    again = effect_scores(ref, alt2, SCORES, bins)
    for k in SCORES:
        np.testing.assert_array_equal(got[k], again[k], err_msg=k)


def test_parse_scores_accepts_the_new_names():
    assert SCORES == ("diff", "log2fc", "ref", "alt", "maxdiff", "sad", "l2", "jsd")
    assert parse_scores("sad,l2,jsd") == ["sad", "l2", "jsd"]
    assert parse_scores(["jsd", "diff", "jsd"]) == ["jsd", "diff"]
    assert parse_scores(",".join(SCORES)) == list(SCORES)
    with pytest.raises(ZooError, match="choose from .*sad, l2, jsd"):
        parse_scores("js")
    with pytest.raises(ZooError, match="not one of"):
        effect_scores(*_random_preds(), ["d2"], slice(0, 12))
    assert set(SCORES) <= set(_KIND_TEXT)  # every kind has its VCF INFO description
