"""DeepLIFT/SHAP: zoo_tools' engine (`zoo_tools.interpret.deeplift.deep_lift_shap`) vs tangermeme's
`deep_lift_shap`, same model, same sequences, same references, one run.

    python benchmarks/bench_attributions.py                       # all three parts
    python benchmarks/bench_attributions.py --peaks 480           # the issue's real case
    python benchmarks/bench_attributions.py --skip-full           # demo + small Enformer only
    python benchmarks/bench_attributions.py --full-len 16384      # full-size Enformer, shorter input

Parts:
1. demo: `demo:base` (1,024 bp, 182 tasks x 32 bins; trained) explained as `zoo interpret
   attributions` explains it: `explain(model, None, 0, "raw", combine=True).single(0)`, the mean
   over tasks and bins of the pre-activation output. Inputs: 1,024 bp windows centred on the
   summits of the demo world's peaks (`zoo demo-data`, cached in $BENCH_OUT), topped up with
   random genome windows if there are fewer peaks than --peaks. References: our `shuffles` (the
   dinucleotide shuffles tangermeme draws with `random_state=seed`; checked), handed to both as
   one (N, K, 4, L) tensor. Both are warmed up once on 2 sequences; medians of --reps.
2. a small reduced-depth Enformer (enformer-pytorch through our adapter, weights of unit gain):
   convergence deltas of both (tangermeme treats enformer-pytorch's functional softmax and its
   GELU class as linear).
3. full-size Enformer (the published hyper-parameters, random weights of unit gain), one random
   196,608 bp sequence, each engine in its own process (peak RSS is that process's), wrapped as
   (N, 4, L) -> (N, 1): our adapter's EnformerTrunk + EnformerHeads (human), mean over the human
   tracks and the --full-bins central bins.

Deltas: ours are `DeepLiftResult.deltas`; tangermeme's are `sum(h * x) - (f(x) - mean_k f(r_k))`
with f from separate no-grad predictions. "relative" is max |delta| over the range of f over the
sequences and their references (what `DeepLiftResult.relative_delta` reports).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

os.environ.setdefault("ZOO_PROGRESS", "0")
warnings.filterwarnings("ignore")

OUT = os.environ.get("BENCH_OUT", "bench_out")
INF = float("inf")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def random_one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    x = torch.zeros(n, 4, length)
    x[np.arange(n)[:, None], rng.integers(0, 4, (n, length)), np.arange(length)] = 1
    return x


def reinit(model: nn.Module, seed: int = 0) -> nn.Module:
    """Weights of unit gain (as tests/test_deeplift.py: a random model's default init leaves the
    outputs nearly constant, so relative deltas would mean little)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear, nn.Conv2d)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.weight[0].numel() ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return model


def tangermeme(model, x, refs, batch_size: int, **kw) -> torch.Tensor:
    from tangermeme.deep_lift_shap import deep_lift_shap as peer

    return peer(
        model,
        x,
        target=0,
        batch_size=batch_size,
        references=refs,
        hypothetical=True,
        warning_threshold=INF,
        device="cpu",
        **kw,
    )


def predict(model, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """``(N,)`` the first output, no gradients."""
    with torch.no_grad():
        return torch.cat([model(x[i : i + batch_size])[:, 0] for i in range(0, len(x), batch_size)])


def peer_deltas(model, x, refs, h, batch_size: int) -> dict:
    """tangermeme's deltas ``sum(h x) - (f(x) - mean f(refs))`` and the output range."""
    fx = predict(model, x, batch_size)
    fr = predict(model, refs.reshape(-1, *x.shape[1:]), batch_size).reshape(len(x), -1)
    d = (torch.as_tensor(h) * x).sum((1, 2)) - (fx - fr.mean(1))
    span = float(torch.cat([fx, fr.flatten()]).max() - torch.cat([fx, fr.flatten()]).min())
    return {"deltas": d.numpy(), "span": span, "fx": fx.numpy(), "fr": fr.mean(1).numpy()}


def delta_stats(deltas, span: float) -> dict:
    m = float(np.abs(np.asarray(deltas)).max())
    return {"max_abs_delta": m, "relative_delta": m / max(span, 1e-12), "span": span}


def agreement(h_ours, h_peer) -> float:
    h_ours, h_peer = np.asarray(h_ours), np.asarray(h_peer)
    return float(np.abs(h_ours - h_peer).max() / max(np.abs(h_peer).max(), 1e-30))


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


# --------------------------------------------------------------------------------------------
# 1. demo:base
# --------------------------------------------------------------------------------------------
def peak_windows(n: int, length: int, seed: int = 0) -> tuple[torch.Tensor, str]:
    """``n`` windows of ``length`` bp centred on the demo world's peak summits (distinct summits,
    highest signal first), topped up with random genome windows; and a description."""
    import glob

    import pandas as pd

    from zoo_tools.data.demo import DemoSpec, make_demo_world
    from zoo_tools.data.genome import Genome, codes_to_one_hot

    folder = os.path.join(OUT, "demo_world")
    if not os.path.exists(os.path.join(folder, "genome.fa.fai")):
        make_demo_world(folder, DemoSpec(seed=0))
    genome = Genome(os.path.join(folder, "genome.fa"))
    peaks = pd.concat(
        [
            pd.read_csv(p, sep="\t", header=None)
            for p in sorted(glob.glob(os.path.join(folder, "peaks", "*.narrowPeak")))
        ]
    )
    peaks["summit"] = peaks[1] + peaks[9]
    peaks = peaks.sort_values(6, ascending=False).drop_duplicates([0, "summit"])
    sizes = genome.contigs
    starts = peaks["summit"] - length // 2
    inside = (starts >= 0) & (starts + length <= peaks[0].map(sizes))
    chroms, starts = peaks[0][inside].to_numpy(), starts[inside].to_numpy()
    n_peaks = min(n, len(starts))
    chroms, starts = list(chroms[:n_peaks]), list(starts[:n_peaks])
    rng = np.random.default_rng(seed)
    names = sorted(sizes)
    while len(starts) < n:
        c = names[rng.integers(len(names))]
        chroms.append(c)
        starts.append(int(rng.integers(0, sizes[c] - length)))
    codes = genome.batch_codes(chroms, starts, length)
    x = torch.as_tensor(codes_to_one_hot(codes))
    assert bool((x.sum(1) == 1).all()), "N bases in the windows"
    what = f"{n_peaks} peak-summit windows" + (f" + {n - n_peaks} random genome windows" if n > n_peaks else "")
    return x, what


def bench_demo(args) -> dict:
    from zoo_tools.interpret.deeplift import deep_lift_shap, shuffles
    from zoo_tools.interpret.wrappers import explain
    from zoo_tools.zoo import load_model

    model = load_model("demo:base")
    f = explain(model, None, 0, "raw", combine=True).single(0).eval()
    L, k, bs, big, seed = model.card.seq_len, args.shuffles, args.batch_size, args.big_batch, args.seed
    x, what = (random_one_hot(args.peaks, L, seed), "random sequences") if args.random else peak_windows(args.peaks, L)
    n = len(x)
    refs = shuffles(x, k, seed)

    def old_cli():  # the CLI before this change: tangermeme's own shuffles, then predictions for the deltas
        from tangermeme.deep_lift_shap import deep_lift_shap as peer

        h, r = peer(
            f,
            x,
            target=0,
            batch_size=bs,
            n_shuffles=k,
            hypothetical=True,
            return_references=True,
            random_state=seed,
            device="cpu",
            warning_threshold=INF,
        )
        fx = predict(f, x, bs)
        fr = predict(f, r.reshape(-1, *x.shape[1:]).float(), bs).reshape(n, -1).mean(1)
        return h, r, (h * x).sum((1, 2)) - (fx - fr)

    methods = {
        f"zoo_tools `deep_lift_shap`, batch {bs}": lambda: deep_lift_shap(
            f, x, references=refs, batch_size=bs, progress=False, device="cpu"
        ),
        f"zoo_tools `deep_lift_shap`, batch {big}": lambda: deep_lift_shap(
            f, x, references=refs, batch_size=big, progress=False, device="cpu"
        ),
        f"tangermeme `deep_lift_shap`, batch {bs}": lambda: tangermeme(f, x, refs, bs),
        f"zoo_tools as the CLI calls it (shuffles drawn inside), batch {bs}": lambda: deep_lift_shap(
            f, x, n_shuffles=k, seed=seed, batch_size=bs, progress=False, device="cpu"
        ),
        f"old CLI path: tangermeme (random_state) + no-grad f(x), f(refs), batch {bs}": old_cli,
    }
    # warm-up on 2 sequences (numba JIT of the shuffles, first-call costs)
    deep_lift_shap(f, x[:2], references=refs[:2], batch_size=bs, progress=False, device="cpu")
    deep_lift_shap(f, x[:2], n_shuffles=k, seed=seed, batch_size=bs, progress=False, device="cpu")
    tangermeme(f, x[:2], refs[:2], bs)
    results, times = {}, {m: [] for m in methods}
    for rep in range(args.reps):
        for m, fn in methods.items():
            out, t = timed(fn)
            times[m].append(t)
            if rep == 0:
                results[m] = out
    med = {m: statistics.median(v) for m, v in times.items()}
    names = list(methods)
    ours, ours_big, peer, ours_cli, old = (results[m] for m in names)
    h_peer = peer.numpy()
    pd_ = peer_deltas(f, x, refs, h_peer, bs)
    span = pd_["span"]
    h_old, refs_old, d_old = old
    same_refs = bool(torch.equal(refs_old.float(), refs))
    stats = {
        names[0]: delta_stats(ours.deltas, span),
        names[1]: delta_stats(ours_big.deltas, span),
        names[2]: delta_stats(pd_["deltas"], span),
        names[3]: delta_stats(ours_cli.deltas, span),
        names[4]: delta_stats(d_old.numpy(), span),
    }
    agree = {
        names[0]: 0.0,
        names[1]: agreement(ours_big.hypothetical, ours.hypothetical),
        names[2]: agreement(ours.hypothetical, h_peer),
        names[3]: agreement(ours_cli.hypothetical, ours.hypothetical),
        names[4]: agreement(h_old.numpy(), ours.hypothetical),
    }
    peer_s = med[names[2]]
    print(
        f"\ndemo:base: {n} x {L} bp ({what}), {k} shuffles each ({n * k} sequence-reference pairs), "
        f"medians of {args.reps}, {torch.get_num_threads()} threads; same references for all "
        f"(tangermeme's random_state={seed} shuffles == ours: {same_refs}); "
        f"output range over sequences and references {span:.4g}, max |attr| {np.abs(h_peer).max():.3g}"
    )
    print(
        "| method | s | peaks/s | speed-up vs tangermeme | max abs diff / max abs attr vs ours batch "
        f"{bs} | max abs delta | max abs delta / output range |\n|---|---|---|---|---|---|---|"
    )
    for m in names:
        s = stats[m]
        print(
            f"| {m} | {med[m]:.2f} | {n / med[m]:.2f} | {peer_s / med[m]:.2f}x | {agree[m]:.1e} | "
            f"{s['max_abs_delta']:.2e} | {s['relative_delta']:.2e} |"
        )
    print(
        f"ours/peer (peaks/s, batch {bs}): {peer_s / med[names[0]]:.2f}x; ours (CLI, seeded) / old CLI path: "
        f"{med[names[4]] / med[names[3]]:.2f}x; ours' own relative_delta {ours.relative_delta:.2e}, fallbacks "
        f"{ours.fallbacks}",
        flush=True,
    )
    return {
        "n": n,
        "seq_len": L,
        "inputs": what,
        "shuffles": k,
        "batch_size": bs,
        "big_batch": big,
        "median_s": med,
        "times": times,
        "peaks_per_s": {m: n / v for m, v in med.items()},
        "speedup_vs_tangermeme": {m: peer_s / v for m, v in med.items()},
        "agreement": agree,
        "deltas": stats,
        "same_references": same_refs,
        "ours_relative_delta": ours.relative_delta,
        "fallbacks": ours.fallbacks,
    }


# --------------------------------------------------------------------------------------------
# 2. small reduced-depth Enformer
# --------------------------------------------------------------------------------------------
def bench_small_enformer(args, folder: str) -> dict:
    from enformer_pytorch import Enformer

    from zoo_tools.interpret.deeplift import deep_lift_shap, shuffles
    from zoo_tools.interpret.wrappers import explain
    from zoo_tools.zoo import load_model

    torch.manual_seed(0)
    enf = Enformer.from_hparams(
        dim=96,
        depth=2,
        heads=4,
        attn_dim_key=16,
        dropout_rate=0.0,
        attn_dropout=0.0,
        pos_dropout=0.0,
        output_heads=dict(human=16, mouse=4),
        target_length=64,
        num_downsamples=4,
        dim_divisible_by=16,
    )
    enf.config.seq_len = 2048  # 128 bins of 16 bp, central 64 kept
    path = os.path.join(folder, "small_enformer")
    enf.save_pretrained(path, safe_serialization=False)
    model = reinit(load_model(f"enformer:{path}"))
    f = explain(model, None, 0, "raw", combine=True).single(0).eval()
    n, k, bs = args.small_n, args.shuffles, args.batch_size
    x = random_one_hot(n, model.card.seq_len, 4)
    refs = shuffles(x, k, args.seed)
    deep_lift_shap(f, x[:1], references=refs[:1, :2], batch_size=bs, progress=False, device="cpu")
    tangermeme(f, x[:1], refs[:1, :2], bs)
    ours, t_ours = timed(lambda: deep_lift_shap(f, x, references=refs, batch_size=bs, progress=False, device="cpu"))
    h, t_peer = timed(lambda: tangermeme(f, x, refs, bs))
    pd_ = peer_deltas(f, x, refs, h.numpy(), bs)
    so, sp = delta_stats(ours.deltas, pd_["span"]), delta_stats(pd_["deltas"], pd_["span"])
    agree = agreement(ours.hypothetical, h.numpy())
    print(
        f"\nsmall Enformer (dim 96, depth 2, 4 heads, 2,048 bp -> 64 bins of 16 bp, weights of unit gain), "
        f"{n} random sequences x {k} shuffles, batch {bs}, one run; output range {pd_['span']:.4g}"
    )
    print("| engine | s | seq/s | max abs delta | max abs delta / output range |\n|---|---|---|---|---|")
    print(f"| zoo_tools | {t_ours:.2f} | {n / t_ours:.2f} | {so['max_abs_delta']:.2e} | {so['relative_delta']:.2e} |")
    print(f"| tangermeme | {t_peer:.2f} | {n / t_peer:.2f} | {sp['max_abs_delta']:.2e} | {sp['relative_delta']:.2e} |")
    print(
        f"attributions differ by {agree:.2f} of max |attr| (tangermeme's are not complete here); ours' fallbacks "
        f"{ours.fallbacks}",
        flush=True,
    )
    return {
        "n": n,
        "shuffles": k,
        "batch_size": bs,
        "seconds": {"zoo_tools": t_ours, "tangermeme": t_peer},
        "deltas": {"zoo_tools": so, "tangermeme": sp},
        "agreement": agree,
        "fallbacks": ours.fallbacks,
    }


# --------------------------------------------------------------------------------------------
# 3. full-size Enformer, each engine in a child process
# --------------------------------------------------------------------------------------------
class CentreMean(nn.Module):
    """``(N, 4, L)`` -> trunk -> heads ``(N, T, B)`` -> ``(N, 1)``: the mean over tracks and bins
    ``[lo, hi)`` (in this composite's forward, as `Explained.finish` does it, so it is audited as
    linear rather than taken for a layer of unknown class)."""

    def __init__(self, trunk: nn.Module, heads: nn.Module, lo: int, hi: int):
        super().__init__()
        self.trunk, self.heads, self.lo, self.hi = trunk, heads, lo, hi

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(self.trunk(x))[:, :, self.lo : self.hi].mean((1, 2))[:, None]


def full_enformer(length: int, centre_bins: int) -> nn.Module:
    """The published Enformer (dim 1536, depth 11, 8 heads, 5,313 + 1,643 tracks) with random
    weights of unit gain, for ``length`` bp (896 bins at 196,608 bp; the same 1536:896 crop
    otherwise), as ``(N, 4, L) -> (N, 1)``."""
    from enformer_pytorch import Enformer

    from zoo_tools.zoo.sources.enformer import EnformerHeads, EnformerTrunk

    if length % 128:
        raise SystemExit(f"--full-len {length}: Enformer needs a multiple of 128")
    target = round(length // 128 * 896 / 1536)
    torch.manual_seed(0)
    enf = Enformer.from_hparams(
        dim=1536, depth=11, heads=8, output_heads=dict(human=5313, mouse=1643), target_length=target
    )
    reinit(enf)
    k = min(centre_bins, target)
    lo = (target - k) // 2
    return CentreMean(EnformerTrunk(enf), EnformerHeads(enf.heads, ["human"]), lo, lo + k).eval()


class _Timeout(Exception):
    pass


def child(spec: dict) -> None:
    """One engine on the full-size Enformer; writes ``spec['out'].json`` (and ``.npy``)."""
    try:  # if memory runs out, the kernel kills this process, not the parent or anything else
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("1000")
    except OSError:
        pass
    from zoo_tools.interpret.deeplift import deep_lift_shap, shuffles

    torch.set_num_threads(spec["threads"])
    res: dict = {"engine": spec["engine"]}

    def dump():
        res["maxrss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        with open(spec["out"] + ".json", "w") as fh:
            json.dump(res, fh, indent=1)

    try:
        model, res["build_s"] = timed(lambda: full_enformer(spec["length"], spec["centre_bins"]))
        res["n_params"] = sum(p.numel() for p in model.parameters())
        x = random_one_hot(1, spec["length"], spec["seed"])
        refs = shuffles(x, spec["shuffles"], spec["seed"])
        if spec["engine"] == "zoo_tools":
            import zoo_tools.interpret.deeplift as dl

            audit = dl.audit_rules

            def timed_audit(*a, **kw):  # how much of our time the audit's pass takes (measurement only)
                out, res["audit_s"] = timed(lambda: audit(*a, **kw))
                print(f"zoo_tools: the audit's pass took {res['audit_s']:.1f} s", file=sys.stderr, flush=True)
                return out

            dl.audit_rules = timed_audit
            out, res["seconds"] = timed(
                lambda: deep_lift_shap(
                    model, x, references=refs, batch_size=spec["batch_size"], progress=True, device="cpu"
                )
            )
            np.save(spec["out"] + ".npy", out.hypothetical)
            res.update(
                deltas=out.deltas.tolist(),
                output=out.output.tolist(),
                reference_output=out.reference_output.tolist(),
                relative_delta=out.relative_delta,
                fallbacks=out.fallbacks,
            )
        else:

            def alarm(*_):
                raise _Timeout

            signal.signal(signal.SIGALRM, alarm)
            signal.alarm(int(spec["timeout"]))
            try:
                h, res["seconds"] = timed(lambda: tangermeme(model, x, refs, spec["batch_size"]))
            except _Timeout:
                res["error"] = f"timed out: tangermeme's deep_lift_shap ran over {spec['timeout']} s"
                dump()
                return
            signal.alarm(0)
            np.save(spec["out"] + ".npy", h.numpy())
            pd_, res["predict_s"] = timed(lambda: peer_deltas(model, x, refs, h, 1))
            res.update(
                deltas=pd_["deltas"].tolist(),
                output=pd_["fx"].tolist(),
                reference_output=pd_["fr"].tolist(),
                span=pd_["span"],
            )
    except (MemoryError, RuntimeError) as err:  # an allocation torch could not make
        res["error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
    dump()


def _hwm_gib(pid: int) -> float | None:
    """The peak RSS so far (VmHWM) of a running process, GiB."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        return None
    return None


def run_child(spec: dict, timeout: float) -> dict:
    """Run :func:`child` in its own process; its peak RSS is sampled every 0.5 s from the parent
    too, so that it is known when the process is killed for lack of memory."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _hwm_gib(proc.pid) or 0.0)
        if time.perf_counter() - t > timeout:
            proc.kill()
            proc.wait()
            return {"engine": spec["engine"], "error": f"ran over {timeout:.0f} s and was stopped", "maxrss_gib": peak}
        time.sleep(0.5)
    rc, wall = proc.returncode, time.perf_counter() - t
    path = spec["out"] + ".json"
    if not os.path.exists(path):
        why = "killed (out of memory: SIGKILL)" if rc == -signal.SIGKILL else f"exited with status {rc}"
        return {"engine": spec["engine"], "error": f"the process was {why} after {wall:.0f} s", "maxrss_gib": peak}
    with open(path) as fh:
        res = json.load(fh)
    res["process_wall_s"] = wall
    return res


def bench_full(args, folder: str) -> dict:
    L, k, bs = args.full_len, args.full_shuffles, args.full_batch
    base = dict(length=L, shuffles=k, batch_size=bs, seed=args.seed, centre_bins=args.full_bins)
    base.update(threads=torch.get_num_threads(), timeout=args.peer_timeout)
    res = {}
    for engine, timeout in (("zoo_tools", args.ours_timeout), ("tangermeme", args.peer_timeout + 1800)):
        spec = dict(base, engine=engine, out=os.path.join(folder, f"full_{engine}"))
        print(f"\nfull-size Enformer, {engine}: {L:,} bp, {k} shuffles, batch {bs} ...", flush=True)
        res[engine] = run_child(spec, timeout)
        print(json.dumps({a: b for a, b in res[engine].items() if a != "deltas"}), flush=True)
    ours, peer = res["zoo_tools"], res["tangermeme"]
    span = peer.get("span")  # the range of f over the sequence and each reference (same model, same inputs)
    print(
        f"\nfull-size Enformer (dim 1536, depth 11, 8 heads, human 5,313 tracks; random weights of unit gain), "
        f"1 random sequence of {L:,} bp, {k} shuffles, batch {bs} sequence-reference pairs, "
        f"f = mean over the human tracks of the central {min(args.full_bins, round(L // 128 * 896 / 1536))} bins"
    )
    print(
        "| engine | s | peak RSS GiB | max abs delta | max abs delta / output range | fallbacks |\n"
        "|---|---|---|---|---|---|"
    )
    for name, r in res.items():
        if "error" in r:
            print(f"| {name} | - | {r.get('maxrss_gib', float('nan')):.2f} (when stopped) | {r['error']} | | |")
            continue
        if span:
            s = delta_stats(r["deltas"], span)
        else:  # tangermeme did not finish: ours' own range
            s = {"max_abs_delta": float(np.abs(r["deltas"]).max()), "relative_delta": r["relative_delta"]}
        r["delta_stats"] = s
        fb = "; ".join(r.get("fallbacks", [])) or ("none" if name == "zoo_tools" else "n/a")
        print(
            f"| {name} | {r['seconds']:.1f} | {r['maxrss_gib']:.2f} | {s['max_abs_delta']:.3e} | "
            f"{s['relative_delta']:.2e} | {fb} |"
        )
    if "relative_delta" in ours:
        print(
            f"ours' own relative_delta: {ours['relative_delta']:.2e}; output f(x) {ours['output']}, "
            f"mean f(refs) {ours['reference_output']}; the audit's pass (1 sequence, 2 references) took "
            f"{ours.get('audit_s', float('nan')):.1f} s of ours' {ours['seconds']:.1f} s"
        )
    if "seconds" in ours and "seconds" in peer:
        a, b = (np.load(os.path.join(folder, f"full_{e}.npy")) for e in ("zoo_tools", "tangermeme"))
        res["agreement"] = agreement(a, b)
        print(
            f"time tangermeme / ours: {peer['seconds'] / ours['seconds']:.2f}x; attributions differ by "
            f"{res['agreement']:.2f} of max |attr|; tangermeme's no-grad predictions for its deltas: "
            f"{peer.get('predict_s', float('nan')):.1f} s",
            flush=True,
        )
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--peaks", type=int, default=96, help="demo: sequences (the issue's real case: 480)")
    p.add_argument("--shuffles", type=int, default=10, help="demo and small Enformer: references per sequence")
    p.add_argument("--batch-size", type=int, default=32, help="sequence-reference pairs per batch, both engines")
    p.add_argument("--big-batch", type=int, default=320, help="demo: ours again at this batch")
    p.add_argument("--reps", type=int, default=3, help="demo: repetitions (medians)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--random", action="store_true", help="demo: random sequences instead of peak windows")
    p.add_argument("--small-n", type=int, default=8, help="small Enformer: sequences")
    p.add_argument("--skip-demo", action="store_true")
    p.add_argument("--skip-small", action="store_true")
    p.add_argument("--skip-full", action="store_true")
    p.add_argument("--full-len", type=int, default=196_608, help="full-size Enformer: input bp (multiple of 128)")
    p.add_argument("--full-shuffles", type=int, default=2)
    p.add_argument("--full-batch", type=int, default=2, help="full-size Enformer: pairs per batch")
    p.add_argument("--full-bins", type=int, default=16, help="full-size Enformer: central bins averaged")
    p.add_argument("--peer-timeout", type=float, default=900, help="full-size: stop tangermeme after this many s")
    p.add_argument("--ours-timeout", type=float, default=7200, help="full-size: stop ours after this many s")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    os.makedirs(OUT, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="bench_attr_", dir=OUT)
    res = {"command": " ".join(sys.argv)}
    if not args.skip_demo:
        res["demo"] = bench_demo(args)
    if not args.skip_small:
        res["small_enformer"] = bench_small_enformer(args, folder)
    if not args.skip_full:
        res["full_enformer"] = bench_full(args, folder)
    with open(os.path.join(OUT, "bench_attributions.json"), "w") as fh:
        json.dump(res, fh, indent=1, default=float)


if __name__ == "__main__":
    main()
