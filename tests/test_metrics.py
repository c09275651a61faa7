import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

from zoo_tools.core.metrics import auprc, auroc, pearson, spearman, track_metrics


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    obs = rng.gamma(0.5, 2.0, (30, 3, 8))
    pred = obs + rng.normal(0, 1.0, obs.shape)
    return pred, obs


def test_correlations_agree_with_scipy(arrays):
    pred, obs = arrays
    for t in range(3):
        assert pearson(pred, obs)[t] == pytest.approx(pearsonr(pred[:, t].ravel(), obs[:, t].ravel())[0], abs=1e-12)
        assert spearman(pred, obs)[t] == pytest.approx(spearmanr(pred[:, t].ravel(), obs[:, t].ravel())[0], abs=1e-12)
    const = np.ones_like(obs)
    assert np.isnan(pearson(const, obs)).all()


def test_auroc_auprc_agree_with_sklearn():
    rng = np.random.default_rng(1)
    labels = rng.random(200) < 0.1
    scores = labels * 1.0 + rng.normal(0, 1, 200)
    scores[:5] = scores[5]  # ties
    assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    assert auprc(scores, labels) == pytest.approx(average_precision_score(labels, scores))
    assert auroc([1, 2, 3, 4], [0, 0, 1, 1]) == 1.0  # hand case: perfect ranking
    assert auprc([4, 3, 2, 1], [0, 1, 0, 1]) == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert np.isnan(auroc([1, 2], [1, 1]))


def test_track_metrics_shape(arrays):
    pred, obs = arrays
    peaks = np.arange(30) < 10
    m = track_metrics(pred, obs, ["a", "b", "c"], is_peak=peaks)
    assert set(m["per_task"]) == {"a", "b", "c"}
    assert set(m["mean"]) == {
        "pearson",
        "pearson_log1p",
        "spearman",
        "pearson_window",
        "auroc",
        "auprc",
        "auprc_chance",
    }
    summed = [pearsonr(pred[:, t].sum(-1), obs[:, t].sum(-1))[0] for t in range(3)]  # each window's total
    assert [m["per_task"][n]["pearson_window"] for n in "abc"] == pytest.approx(summed, abs=1e-12)
    assert m["mean"]["auprc_chance"] == pytest.approx(1 / 3)
    assert m["mean"]["pearson"] == pytest.approx(np.mean(pearson(pred, obs)))
