"""DeepLIFT/SHAP (zoo_tools.interpret.deeplift): hand-computed multipliers, agreement with
tangermeme where tangermeme has rules for every layer, convergence on reduced-depth Enformer and
Borzoi (where tangermeme's does not converge), and the audit that names layers without a rule."""

import numpy as np
import pytest
import torch
from torch import nn

from tests import zoo_fixtures as fx
from tests.test_cli import run
from zoo_tools.interpret.deeplift import deep_lift_shap, shuffles
from zoo_tools.interpret.deeplift_rules import RULES, gauss_legendre, integrated_multiplier, register_rule, rule_of


def one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    x = torch.zeros(n, 4, length)
    x[np.arange(n)[:, None], rng.integers(0, 4, (n, length)), np.arange(length)] = 1
    return x


def reinit(model: nn.Module, seed: int = 0) -> nn.Module:
    """Weights of unit gain (a random model's default init leaves outputs nearly constant)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear, nn.Conv2d)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.weight[0].numel() ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return model


def tangermeme_deltas(model, x, refs) -> tuple[torch.Tensor, torch.Tensor]:
    """tangermeme's hypothetical attributions on the same references, and their deltas."""
    from tangermeme.deep_lift_shap import deep_lift_shap as peer

    was = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    torch.use_deterministic_algorithms(was[0], warn_only=True)  # its max-unpooling has no deterministic kernel
    try:
        h = peer(model, x, target=0, references=refs, hypothetical=True, warning_threshold=float("inf"))
    finally:
        torch.use_deterministic_algorithms(was[0], warn_only=was[1])
    with torch.no_grad():
        fr = model(refs.reshape(-1, *x.shape[1:]))[:, 0].reshape(len(x), -1).mean(1)
        out = model(x)[:, 0]
    return h, (h * x).sum((1, 2)) - (out - fr)


def test_rescale_multipliers_by_hand():
    # f(x) = softplus(w . x + b): one reference, one sequence; DeepLIFT's multiplier of input c, i is
    # w[c, i] * (f(x) - f(r)) / (z_x - z_r): the contributions add up to f(x) - f(r) exactly
    torch.manual_seed(0)
    lin = nn.Sequential(nn.Flatten(), nn.Linear(4 * 12, 1), nn.Softplus())
    x, r = one_hot(1, 12, 1), one_hot(1, 12, 2)
    res = deep_lift_shap(lin, x, references=r[:, None], progress=False)
    w, b = lin[1].weight.detach().reshape(4, 12), lin[1].bias.detach()
    zx, zr = (w * x[0]).sum() + b, (w * r[0]).sum() + b
    m = w * (nn.functional.softplus(zx) - nn.functional.softplus(zr)) / (zx - zr)
    expected = m - (m * r[0]).sum(0, keepdim=True)  # hypothetical: base b at i minus the reference's
    assert np.allclose(res.hypothetical[0], expected.numpy(), atol=1e-6)
    assert abs(res.deltas[0]) < 1e-6 and res.fallbacks == []


def test_integrated_rule_is_exact_for_polynomials():
    # Gauss-Legendre with n nodes integrates polynomials of degree <= 2n - 1 exactly, so the
    # integrated multiplier of z**3 adds up to x**3 - r**3 with 2 nodes
    nodes, weights = gauss_legendre(2)
    assert np.isclose(sum(weights), 1) and all(0 < t < 1 for t in nodes)
    r, x = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([1.5, 1.0, -0.5])
    g = torch.tensor([1.0, 2.0, -1.0])
    m = integrated_multiplier(lambda z: z**3, r, x, g, steps=2)
    assert torch.allclose(m * (x - r), g * (x**3 - r**3), atol=1e-5)


def test_agrees_with_tangermeme_on_a_cnn(tmp_path):
    # conv, ReLU, max pooling, dense, Softplus: tangermeme has a rule for every layer here, so the two
    # implementations must give the same attributions on the same shuffles
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv1d(4, 16, 7, padding=3),
        nn.ReLU(),
        nn.MaxPool1d(4),
        nn.Conv1d(16, 8, 3, padding=1),
        nn.ELU(),
        nn.Flatten(),
        nn.Linear(8 * 25, 2),
        nn.Softplus(),
    ).eval()
    reinit(net)
    x = one_hot(5, 100, 3)
    refs = shuffles(x, 6, 0)
    ours = deep_lift_shap(net, x, n_shuffles=6, seed=0, batch_size=8, progress=False)
    h, peer_deltas = tangermeme_deltas(net, x, refs)
    assert torch.allclose(torch.as_tensor(ours.hypothetical), h, atol=1e-5 * float(h.abs().max()))
    assert np.abs(ours.deltas).max() < 1e-4 and float(peer_deltas.abs().max()) < 1e-4
    assert ours.relative_delta < 1e-4 and ours.fallbacks == []
    # the shuffles are tangermeme's: same seeds, same references; batch size changes nothing
    again = deep_lift_shap(net, x, n_shuffles=6, seed=0, batch_size=3, progress=False)
    assert np.allclose(again.hypothetical, ours.hypothetical, atol=1e-7)


@pytest.mark.parametrize("kind", ["enformer", "borzoi"])
def test_converges_on_reduced_attention_models(kind, tmp_path):
    """enformer-pytorch and borzoi-pytorch (attention pooling, softmax attention, layer norm, GELU)
    through their adapters: deltas under 1e-3 of the output range; tangermeme's, which treats the
    functional softmax and products as linear, are far larger on the Enformer."""
    from zoo_tools.interpret.wrappers import explain
    from zoo_tools.zoo import load_model

    folder = getattr(fx, f"{kind}_dir")(tmp_path / kind)
    model = reinit(load_model(f"{kind}:{folder}"))
    single = explain(model, scale="raw", combine=True).single(0).eval()
    x = one_hot(2, model.card.seq_len, 4)
    res = deep_lift_shap(single, x, n_shuffles=3, seed=0, batch_size=6, progress=False)
    assert res.relative_delta < 1e-3, res
    assert res.fallbacks == []  # every layer has a rule (attention: `integrated`)
    if kind == "enformer":
        _, peer = tangermeme_deltas(single, x, shuffles(x, 3, 0))
        span = np.ptp(np.r_[res.output, res.reference_output])
        assert float(peer.abs().max()) / span > 10 * res.relative_delta


class Gate(nn.Module):
    """A gated unit written with a functional sigmoid: nonlinear outside its children."""

    def __init__(self, c: int):
        super().__init__()
        self.lin = nn.Conv1d(c, c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.lin(x))


class Square(nn.Module):
    def forward(self, x):
        return x**2


def test_audit_names_layers_without_rules_and_still_converges(caplog):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv1d(4, 8, 5, padding=2), Gate(8), Square(), nn.Flatten(), nn.Linear(8 * 40, 1))
    reinit(net, 1)
    x = one_hot(3, 40, 5)
    res = deep_lift_shap(net, x, n_shuffles=4, progress=False)
    assert res.fallbacks == ["2 (Square): a layer of unknown class", "1 (Gate): nonlinear outside its layers"]
    assert "no exact rule for 2 (Square)" in caplog.text
    assert res.relative_delta < 1e-3
    # without the fallback (tangermeme treats both as linear) the deltas are large
    _, peer = tangermeme_deltas(net, x, shuffles(x, 4, 0))
    assert float(peer.abs().max()) / np.ptp(np.r_[res.output, res.reference_output]) > 1e-2
    # a registered rule replaces the fallback
    register_rule(Square, "rescale")
    try:
        assert rule_of(Square()) == "rescale"
        again = deep_lift_shap(net, x, n_shuffles=4, progress=False)
    finally:
        RULES.pop(Square)
    assert again.fallbacks == ["1 (Gate): nonlinear outside its layers"] and again.relative_delta < 1e-3


def test_cli_reports_relative_delta_on_enformer(tmp_path):
    from enformer_pytorch import Enformer

    folder = str(tmp_path / "enf")  # the small fixture with weights of unit gain
    plain = Enformer.from_pretrained(fx.enformer_dir(tmp_path / "plain"))
    reinit(plain).save_pretrained(folder, safe_serialization=False)
    seq = "".join(np.random.default_rng(0).choice(list("ACGT"), 64))
    res = run("interpret", "attributions", "--model", f"enformer:{folder}", "--seq", seq, "--out", tmp_path / "a")
    assert res.returncode == 0, res.stderr
    assert "of the output range" in res.stdout
    z = np.load(tmp_path / "a" / "attributions.npz")
    assert float(z["relative_delta"]) < 1e-3 and z["deltas"].shape == (1,) and len(z["fallbacks"]) == 0
