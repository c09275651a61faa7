"""One HTML page over a folder of zoo_tools outputs (``zoo report DIR``).

The folder is searched for what the commands write, whatever the sub-folders are called:

* fine-tuning runs (``metrics.json`` + ``config.yaml``): test metrics, curves, predicted vs observed;
* novel-cell-type runs (``comparison.tsv``);
* variant scores (``*.tsv``, ``*.tsv.gz``, ``*.parquet`` with a ``max_abs_effect`` column): status
  counts and the top variants; ranked against ``truth/variants.tsv`` when a demo world is there;
* ISM folders (``ism.npz``), marginalisations (``marginalize.tsv``), TF-MoDISco (``motifs.tsv``).

``DIR/index.html`` links every figure and table by relative path, so the folder can be copied
as a whole. :func:`build_index` returns the page path and a short text summary.
"""

from __future__ import annotations

import glob
import html
import os

import pandas as pd

from zoo_tools.core.errors import ZooError


def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _table(df: pd.DataFrame, digits: int = 3) -> str:
    return df.to_html(index=False, float_format=lambda v: f"{v:.{digits}g}", border=0, classes="t")


def _img(path: str, root: str, height: int = 260) -> str:
    return f"<a href='{_rel(path, root)}'><img src='{_rel(path, root)}' height='{height}'></a>"


def _finetune_section(run: str, root: str, summary: list[str]) -> str:
    from zoo_tools.train.results import RunResult

    m = RunResult.from_json(os.path.join(run, "metrics.json"))
    name = _rel(run, root)
    parts = [f"<h3>Fine-tuning run <code>{html.escape(name)}</code></h3>"]
    if m.test is not None:
        intro = f"<p>{m.describe(name=lambda s: f'<b>{html.escape(str(s))}</b>', text=html.escape)}</p>"
        table = _table(m.test_table())
        parts += [intro + table] if m.TABLE_INLINE else [intro, table]
        line = m.headline(name)
        if line:
            summary.append(line)
    for w in m.warnings:
        parts.append(f"<p class='warn'>warning: {html.escape(str(w))}</p>")
    parts += [
        _img(p, root) for p in (os.path.join(run, f) for f in ("curves.png", "pred_vs_obs.png")) if os.path.exists(p)
    ]
    comp = os.path.join(run, "comparison.tsv")
    if os.path.exists(comp):
        parts.append("<p>held-out cell type, held-out chromosomes:</p>" + _table(pd.read_csv(comp, sep="\t")))
    return "\n".join(parts)


def _scores_section(path: str, root: str, summary: list[str]) -> str:
    from zoo_tools.core.metrics import auroc
    from zoo_tools.score import read_scores

    df = read_scores(path)
    name = _rel(path, root)
    parts = [
        f"<h3>Variant scores <code>{html.escape(name)}</code></h3>",
        "<p>statuses: " + ", ".join(f"{k} {v}" for k, v in df.status.value_counts().items()) + "</p>",
    ]
    truths = glob.glob(os.path.join(root, "**", "truth", "variants.tsv"), recursive=True)
    if truths:
        t = pd.read_csv(truths[0], sep="\t")
        m = df.merge(t, on=["chrom", "pos", "ref", "alt"], how="inner")
        m = m[m.status == "ok"]
        if len(m) and m.breaks_motif.nunique() == 2:
            a = auroc(m.max_abs_effect.to_numpy(), m.breaks_motif.to_numpy(bool))
            parts.append(f"<p>motif-breaking vs neutral variants (demo truth): <b>auROC {a:.3f}</b></p>")
            summary.append(f"{name}: {len(df)} alleles scored, auROC {a:.3f} against the planted truth")
        else:
            summary.append(f"{name}: {len(df)} alleles scored")
    else:
        summary.append(f"{name}: {len(df)} alleles scored")
    top = df.dropna(subset=["max_abs_effect"]).sort_values("max_abs_effect", ascending=False).head(10)
    cols = ["chrom", "pos", "id", "ref", "alt", "max_abs_effect"]
    parts.append("<p>top 10 by max |effect|:</p>" + _table(top[cols]))
    return "\n".join(parts)


def _interpret_section(root: str, summary: list[str]) -> str:
    parts = []
    for folder in sorted(glob.glob(os.path.join(root, "**", "ism.npz"), recursive=True)):
        d = os.path.dirname(folder)
        pngs = sorted(glob.glob(os.path.join(d, "ism_*.png")))
        parts.append(
            f"<h3>ISM <code>{html.escape(_rel(d, root))}</code></h3>" + " ".join(_img(p, root, 220) for p in pngs)
        )
    for tsv in sorted(glob.glob(os.path.join(root, "**", "marginalize.tsv"), recursive=True)):
        d = os.path.dirname(tsv)
        t = pd.read_csv(tsv, sep="\t")
        parts.append(
            f"<h3>Motif marginalisation <code>{html.escape(_rel(d, root))}</code></h3>"
            f"<p>{html.escape(str(t.motif.iat[0]))}</p>"
            + _table(
                t[
                    [
                        c
                        for c in (
                            "task",
                            "spacing",
                            "before",
                            "after",
                            "effect",
                            "specific",
                            "specific_ci_low",
                            "specific_ci_high",
                        )
                        if c in t
                    ]
                ]
            )
            + _img(os.path.join(d, "marginalize.png"), root, 220)
        )
        low = "specific_ci_low" if "specific_ci_low" in t else "ci_low"
        up = t[t[low] > 0].task.tolist()
        summary.append(f"{_rel(d, root)}: {t.motif.iat[0].split('(')[0]} raises {', '.join(up) or 'no task'}")
    for tsv in sorted(glob.glob(os.path.join(root, "**", "motifs.tsv"), recursive=True)):
        d = os.path.dirname(tsv)
        t = pd.read_csv(tsv, sep="\t")
        link = f"<a href='{_rel(os.path.join(d, 'report.html'), root)}'>report with logos</a>"
        parts.append(f"<h3>TF-MoDISco <code>{html.escape(_rel(d, root))}</code> ({link})</h3>" + _table(t))
        named = t[t.q_1 < 0.05].match_1.tolist() if "q_1" in t else []
        summary.append(f"{_rel(d, root)}: {len(t)} patterns; named (q < 0.05): {', '.join(named) or 'none'}")
    return "\n".join(parts)


def build_index(root: str, title: str = "zoo_tools report") -> tuple[str, str]:
    """Write ``root/index.html`` over every output found under ``root`` (ZooError if none is).

    Parameters
    ----------
    root, title : the folder the commands wrote into (searched recursively); the page's title.

    Returns
    -------
    (path, summary) : the page written, and a text summary of it (one line per result)."""
    if not os.path.isdir(root):
        raise ZooError(f"{root}: not a folder; give the folder the zoo commands wrote into")
    summary: list[str] = []
    sections = []
    runs = sorted(
        os.path.dirname(p)
        for p in glob.glob(os.path.join(root, "**", "metrics.json"), recursive=True)
        if os.path.exists(os.path.join(os.path.dirname(p), "config.yaml"))
    )
    if runs:
        sections.append("<h2>Fine-tuning</h2>" + "\n".join(_finetune_section(r, root, summary) for r in runs))
    score_files = []
    for ext in ("*.tsv", "*.tsv.gz", "*.parquet"):
        for p in glob.glob(os.path.join(root, "**", ext), recursive=True):
            try:
                if p.endswith(".parquet"):
                    head = pd.read_parquet(p).columns
                else:
                    head = pd.read_csv(p, sep="\t", nrows=1).columns
            except Exception:  # noqa: BLE001 - not a table of ours
                continue
            if "max_abs_effect" in head and "status" in head:
                score_files.append(p)
    if score_files:
        sections.append(
            "<h2>Variant effects</h2>" + "\n".join(_scores_section(p, root, summary) for p in sorted(score_files))
        )
    interp = _interpret_section(root, summary)
    if interp:
        sections.append("<h2>Interpretation</h2>" + interp)
    if not sections:
        raise ZooError(
            f"{root}: no zoo_tools outputs found (metrics.json, scores, ism.npz, marginalize.tsv, motifs.tsv)"
        )
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:2em auto}table.t{border-collapse:collapse;"
        "font-size:90%}table.t td,table.t th{padding:2px 8px;border-bottom:1px solid #ddd}.warn{color:#a60}"
    )
    page = (
        f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{style}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><h2>Summary</h2><ul>"
        + "".join(f"<li>{html.escape(s)}</li>" for s in summary)
        + "</ul>"
        + "\n".join(sections)
        + "</body></html>"
    )
    path = os.path.join(root, "index.html")
    with open(path, "w") as fh:
        fh.write(page)
    return path, "\n".join(summary)
