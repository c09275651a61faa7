"""One HTML page over a folder of zoo_tools outputs (``zoo report DIR``).

The folder is searched for what the commands write, whatever the sub-folders are called:

* fine-tuning runs (``metrics.json`` + ``config.yaml``): test metrics, curves, predicted vs observed;
* novel-cell-type runs (``comparison.tsv``);
* variant scores (``*.tsv``, ``*.tsv.gz``, ``*.parquet`` with a ``max_abs_effect`` column): status
  counts and the top variants; ranked against ``truth/variants.tsv`` when a demo world is there;
* ISM folders (``ism.npz``), marginalisations (``marginalize.tsv``), TF-MoDISco (``motifs.tsv``:
  named patterns, and the unnamed ones with the reason why).

``DIR/index.html``: a table of contents, the summary, then the sections; figures have captions (what
they show, what to look for), tables sort by a click on a header (inline script: works offline).
Files are linked by relative path (copy the folder as a whole). :func:`build_index` returns the page
path and a short text summary.
"""

from __future__ import annotations

import glob
import html
import os
import re
import urllib.parse

import numpy as np
import pandas as pd

from zoo_tools.core.errors import ZooError

_CURVES = (
    "<b>Training curves</b>: training and validation loss per epoch. Look for the validation loss "
    "to flatten out; a validation loss that rises while the training loss keeps falling is overfitting."
)
_PRED_VS_OBS = (
    "<b>Predicted vs observed</b> on the test chromosomes, a panel per task (for a siamese run: allelic "
    "log ratios of the test SNVs). Points should lie near the diagonal; each panel's title gives the "
    "task's Pearson r, as in the table of test metrics."
)
_ISM = (
    "<b>In-silico mutagenesis</b> of {region} on {task}: the effect of each single-base substitution "
    "(heatmap rows A, C, G, T; red raises the prediction, blue lowers it) under the reference bases "
    "scaled by their importance. Motifs show as blocks of same-sign effects: runs of positions where "
    "every substitution lowers (or raises) the prediction."
)
_MARGINALIZE = (
    "<b>Motif marginalisation</b>: the effect of inserting {motif} into shuffled backgrounds, per task "
    "(mean after - before, bars: the confidence interval). A driver raises its tasks (interval above "
    "0); a decoy does nothing (interval across 0)."
)
_MODISCO = (
    "<p>Patterns TF-MoDISco found in the attributions. Each logo is a pattern's contribution weight matrix (trimmed "
    "core): tall letters are the bases the model relies on, letters below the axis lower its prediction. A pattern "
    "is named only when it passes every test; an unnamed one gives the figure that failed (seqlets, bits of "
    "information, q-value or empirical FDR of its best match, a rival match).</p>"
)
_LOGO = "TF-MoDISco CWM logo of {pattern} (trimmed core)"
_NAMED_COLS = ["logo", "pattern", "n_seqlets", "name", "q_1", "fdr_1", "information", "reason"]
_UNNAMED_COLS = ["logo", "pattern", "n_seqlets", "status", "best match", "q_1", "fdr_1", "reason"]
_NAMED_TEXT = ("Named patterns: the motif each matches, and the figures behind it", ("logo",), "No pattern was named")
_UNNAMED_TEXT = ("Unnamed patterns: best match, and why each stayed unnamed", ("logo",), "Every pattern was named")
_MARGINAL_COLS = ["task", "spacing", "before", "after", "effect", "specific", "specific_ci_low", "specific_ci_high"]
_STYLE = (
    "body{font-family:sans-serif;max-width:1200px;margin:2em auto}table.t{border-collapse:collapse;"
    "font-size:90%;margin:.5em 0 1em}table.t td,table.t th{padding:2px 8px;border-bottom:1px solid #ddd}"
    "table.t caption{text-align:left;font-style:italic;padding:4px 0;white-space:nowrap}th.sortable{cursor:pointer}"
    "th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}"
    "figure{display:inline-block;margin:.5em 1em .5em 0;max-width:100%;vertical-align:top}"
    "figcaption{font-size:85%;max-width:560px;color:#333}.warn{color:#a60}.empty{color:#666}"
    "nav#toc{background:#f6f6f6;padding:.5em 1em}"
)
_SCRIPT = """(function () {
  function key(cell) { return cell ? (cell.getAttribute("data-v") || cell.textContent).trim() : ""; }
  function num(s) { return /^[-+]?inf(inity)?$/i.test(s) ? (s[0] === "-" ? -Infinity : Infinity) : Number(s); }
  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0], up = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows), order = rows.map(function (r, i) { return i; });
    var keys = rows.map(function (r) { return key(r.cells[th.cellIndex]); });
    var numeric = keys.every(function (k) { return k === "" || !isNaN(num(k)); });
    order.sort(function (a, b) {
      var x = keys[a], y = keys[b];
      if (x === "" || y === "") return (x === "") - (y === "");  // empty cells last, either way
      return (up ? 1 : -1) * (numeric ? num(x) - num(y) : x.localeCompare(y));
    });
    order.forEach(function (i) { body.appendChild(rows[i]); });
  }
  window.addEventListener("load", function () {
    var ths = document.querySelectorAll("table.sortable thead th"), n = Array.prototype.filter;
    ths.forEach(function (th) {
      th.classList.add("sortable");
      th.title = "click to sort";
      th.addEventListener("click", function () { sortBy(th); });
    });
    var d = document.body.dataset, tables = document.querySelectorAll("table");
    d.brokenImages = n.call(document.images, function (i) { return !i.complete || i.naturalWidth === 0; }).length;
    d.emptyTables = n.call(tables, function (t) { return !t.tBodies.length || !t.tBodies[0].rows.length; }).length;
    d.sortableHeaders = ths.length;
  });
})();"""


class _Page:
    """What one page collects: its headings (the table of contents) and its summary lines."""

    def __init__(self, root: str):
        self.root = root
        self.toc: list[tuple[int, str, str]] = []
        self.summary: list[str] = []

    def heading(self, level: int, text: str, code: str = "") -> str:
        """An ``<hN>`` with a unique anchor id, listed in the table of contents."""
        base = re.sub(r"[^a-z0-9]+", "-", f"{text} {code}".lower()).strip("-") or "section"
        used = {a for _, a, _ in self.toc} | {"toc"}
        anchor, k = base, 2
        while anchor in used:
            anchor, k = f"{base}-{k}", k + 1
        label = html.escape(text) + (f" <code>{html.escape(code)}</code>" if code else "")
        self.toc.append((level, anchor, label))
        return f"<h{level} id='{anchor}'>{label}</h{level}>"

    def rel(self, path: str) -> str:
        """``path`` relative to the page's folder, with ``/``."""
        return os.path.relpath(path, self.root).replace(os.sep, "/")


def _toc(toc: list[tuple[int, str, str]]) -> str:
    """The table of contents: nested lists of the headings, by level (2 = section)."""
    out, depth = ["<ul>"], 2
    for i, (level, anchor, label) in enumerate(toc):
        level = min(level, depth + 1) if i else 2
        if i and level > depth:
            out.append("<ul>")
        elif i:
            out.append("</li>" + "</ul></li>" * (depth - level))
        out.append(f"<li><a href='#{anchor}'>{label}</a>")
        depth = level
    out.append("</li>" + "</ul></li>" * (depth - 2) + "</ul>")
    return f"<nav id='toc'><h2>Contents</h2>{''.join(out)}</nav>"


def _text(v, digits: int) -> str:
    """A cell's text: floats to ``digits`` significant digits, missing values empty."""
    if isinstance(v, float | np.floating):
        return "" if np.isnan(v) else f"{v:.{digits}g}"
    return "" if v is None else str(v)


def _table(df: pd.DataFrame, caption: str, raw: tuple[str, ...] = (), empty: str = "", digits: int = 3) -> str:
    """A sortable table with its caption, or the sentence ``empty`` when ``df`` has no rows (never an
    empty table); ``raw``: the columns that hold HTML."""
    if df.empty:
        return f"<p class='empty'>{html.escape(empty or 'No rows: ' + caption)}.</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{v if c in raw else html.escape(_text(v, digits))}</td>" for c, v in zip(df.columns, row, strict=True)
        )
        + "</tr>"
        for row in df.itertuples(index=False)
    )
    return (
        f"<table class='t sortable'><caption>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _src(page: _Page, path: str) -> str:
    """``path`` as a quoted relative URL, for ``src`` and ``href``."""
    return html.escape(urllib.parse.quote(page.rel(path)), quote=True)


def _figure(page: _Page, path: str, caption: str, height: int = 260) -> str:
    """A figure (linked to its file) with its caption (HTML); nothing when the file is missing."""
    if not os.path.exists(path):
        return ""
    src, alt = _src(page, path), html.escape(os.path.basename(path), quote=True)
    img = f"<a href='{src}'><img src='{src}' height='{height}' alt='{alt}'></a>"
    return f"<figure>{img}<figcaption>{caption}</figcaption></figure>"


def _finetune_section(run: str, page: _Page) -> str:
    from zoo_tools.train.results import RunResult

    m = RunResult.from_json(os.path.join(run, "metrics.json"))
    name = page.rel(run)
    parts = [page.heading(3, "Fine-tuning run", name)]
    if m.test is not None:
        intro = f"<p>{m.describe(name=lambda s: f'<b>{html.escape(str(s))}</b>', text=html.escape)}</p>"
        table = _table(m.test_table(), f"Test metrics of {name}, per task (held-out test chromosomes)")
        parts += [intro + table] if m.TABLE_INLINE else [intro, table]
        line = m.headline(name)
        if line:
            page.summary.append(line)
    parts += [f"<p class='warn'>warning: {html.escape(str(w))}</p>" for w in m.warnings]
    parts.append(_figure(page, os.path.join(run, "curves.png"), _CURVES))
    parts.append(_figure(page, os.path.join(run, "pred_vs_obs.png"), _PRED_VS_OBS))
    comp = os.path.join(run, "comparison.tsv")
    if os.path.exists(comp):
        caption = "Held-out cell type on held-out chromosomes: the model against its baselines"
        parts.append(_table(pd.read_csv(comp, sep="\t"), caption))
    return "\n".join(p for p in parts if p)


def _truth_auroc(df: pd.DataFrame, root: str) -> float | None:
    """auROC of ``max_abs_effect`` for motif-breaking vs neutral variants of a demo truth, if any."""
    from zoo_tools.core.metrics import auroc

    truths = glob.glob(os.path.join(root, "**", "truth", "variants.tsv"), recursive=True)
    if not truths:
        return None
    m = df.merge(pd.read_csv(truths[0], sep="\t"), on=["chrom", "pos", "ref", "alt"], how="inner")
    m = m[m.status == "ok"]
    if not len(m) or m.breaks_motif.nunique() != 2:
        return None
    return float(auroc(m.max_abs_effect.to_numpy(), m.breaks_motif.to_numpy(bool)))


def _scores_section(path: str, page: _Page) -> str:
    from zoo_tools.score import read_scores

    df = read_scores(path)
    name = page.rel(path)
    counts = ", ".join(f"{k} {v}" for k, v in df.status.value_counts().items())
    parts = [page.heading(3, "Variant scores", name), f"<p>statuses: {html.escape(counts) or 'no rows'}</p>"]
    a = _truth_auroc(df, page.root)
    if a is not None:
        parts.append(f"<p>motif-breaking vs neutral variants (demo truth): <b>auROC {a:.3f}</b></p>")
    truth = "" if a is None else f", auROC {a:.3f} against the planted truth"
    page.summary.append(f"{name}: {len(df)} alleles scored{truth}")
    top = df.dropna(subset=["max_abs_effect"]).sort_values("max_abs_effect", ascending=False).head(10)
    cols = ["chrom", "pos", "id", "ref", "alt", "max_abs_effect"]
    parts.append(_table(top[cols], f"Top 10 alleles of {name} by max |effect| over the tasks"))
    return "\n".join(parts)


def _ism_section(npz: str, page: _Page) -> str:
    d = os.path.dirname(npz)
    with np.load(npz) as z:
        task = str(z["tasks"][0]) if "tasks" in z.files and len(z["tasks"]) else "the first task"
    figures = [
        _figure(page, p, _ISM.format(region=html.escape(os.path.basename(p)[4:-4]), task=html.escape(task)), 220)
        for p in sorted(glob.glob(os.path.join(d, "ism_*.png")))
    ]
    body = "".join(figures) or "<p class='empty'>No ISM plots in this folder (ism.npz only).</p>"
    return page.heading(3, "ISM", page.rel(d)) + body


def _marginalize_section(tsv: str, page: _Page) -> str:
    d = os.path.dirname(tsv)
    t = pd.read_csv(tsv, sep="\t")
    motif = str(t.motif.iat[0]) if len(t) else "the motif"
    low = "specific_ci_low" if "specific_ci_low" in t else "ci_low"
    up = t[t[low] > 0].task.tolist() if low in t else []
    page.summary.append(f"{page.rel(d)}: {motif.split('(')[0].strip()} raises {', '.join(map(str, up)) or 'no task'}")
    caption = f"Effect of inserting {motif}, per task (specific: against a shuffled control, with its CI)"
    return (
        page.heading(3, "Motif marginalisation", page.rel(d))
        + _table(t[[c for c in _MARGINAL_COLS if c in t]], caption)
        + _figure(page, os.path.join(d, "marginalize.png"), _MARGINALIZE.format(motif=html.escape(motif)), 220)
    )


def _with_status(t: pd.DataFrame) -> pd.DataFrame:
    """``motifs.tsv`` with ``status``, ``name`` and ``reason``; an old table (no ``status``) is
    named where ``q_1 < 0.05``."""
    t = t.copy()
    if "status" not in t:
        q = t.q_1 if "q_1" in t else pd.Series(np.nan, index=t.index)
        named = q < 0.05
        t["status"] = np.where(named, "named", "no_significant_match")
        t["name"] = t.match_1.where(named, "") if "match_1" in t else ""
        t["reason"] = [f"q {v:.2g} (max 0.05)" if v == v else "no match" for v in q]
    t["name"] = t["name"].fillna("") if "name" in t else ""
    t["best match"] = t.match_1 if "match_1" in t else ""
    return t


def _logo_cells(t: pd.DataFrame, d: str, page: _Page) -> pd.Series:
    """Each pattern's logo (``logos/<pattern>.png``) as an ``<img>``, empty when it is missing."""
    cells = []
    for p in t.pattern.astype(str):
        png = os.path.join(d, "logos", f"{p}.png")
        img = f"<img src='{_src(page, png)}' height='50' alt='{html.escape(_LOGO.format(pattern=p), quote=True)}'>"
        cells.append(img if os.path.exists(png) else "")
    return pd.Series(cells, index=t.index)


def _pick(df: pd.DataFrame, cols: list[str], logos: bool) -> pd.DataFrame:
    """The columns ``cols`` that ``df`` has (``logo`` only when some pattern has one)."""
    return df[[c for c in cols if c in df and (c != "logo" or logos)]]


def _modisco_tables(t: pd.DataFrame, d: str, page: _Page) -> str:
    """The named patterns, then the unnamed ones and why (each with its logo where there is one)."""
    t = t.assign(logo=_logo_cells(t, d, page))
    logos = bool((t.logo != "").any())
    named, unnamed = t[t.status == "named"], t[t.status != "named"]
    return (
        page.heading(4, "Named patterns")
        + _table(_pick(named, _NAMED_COLS, logos), *_NAMED_TEXT)
        + page.heading(4, "Unnamed patterns and why")
        + _table(_pick(unnamed, _UNNAMED_COLS, logos), *_UNNAMED_TEXT)
    )


def _modisco_section(tsv: str, page: _Page) -> str:
    d = os.path.dirname(tsv)
    t = _with_status(pd.read_csv(tsv, sep="\t"))
    names = t.loc[t.status == "named", "name"].astype(str).tolist()
    unnamed = int((t.status != "named").sum())
    named = ", ".join(names) or "none"
    page.summary.append(f"{page.rel(d)}: {len(t)} patterns; named: {named}; {unnamed} stayed unnamed")
    report = os.path.join(d, "report.html")
    link = f"<p>Full report with logos: <a href='{_src(page, report)}'>report.html</a></p>"
    head = page.heading(3, "TF-MoDISco", page.rel(d)) + _MODISCO + (link if os.path.exists(report) else "")
    if t.empty:
        return head + "<p class='empty'>TF-MoDISco found no pattern.</p>"
    return head + _modisco_tables(t, d, page)


def _found(root: str, name: str) -> list[str]:
    return sorted(glob.glob(os.path.join(root, "**", name), recursive=True))


def _interpret_section(page: _Page) -> str:
    """ISM folders, marginalisations and TF-MoDISco folders under the root, under one heading."""
    kinds = [("ism.npz", _ism_section), ("marginalize.tsv", _marginalize_section), ("motifs.tsv", _modisco_section)]
    found = [(f, _found(page.root, name)) for name, f in kinds]
    if not any(paths for _, paths in found):
        return ""
    head = page.heading(2, "Interpretation")
    return head + "\n".join(f(p, page) for f, paths in found for p in paths)


def _is_scores(path: str) -> bool:
    """Whether ``path`` is a table of variant scores (``status`` and ``max_abs_effect`` columns)."""
    try:
        head = (pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path, sep="\t", nrows=1)).columns
    except Exception:  # noqa: BLE001 - not a table of ours
        return False
    return "max_abs_effect" in head and "status" in head


def _sections(page: _Page) -> list[str]:
    """The page's sections (fine-tuning, variant effects, interpretation), those with content."""
    root, sections = page.root, []
    runs = [os.path.dirname(p) for p in _found(root, "metrics.json")]
    runs = [r for r in runs if os.path.exists(os.path.join(r, "config.yaml"))]
    if runs:
        head = page.heading(2, "Fine-tuning")
        sections.append(head + "\n".join(_finetune_section(r, page) for r in runs))
    scores = sorted(p for ext in ("*.tsv", "*.tsv.gz", "*.parquet") for p in _found(root, ext) if _is_scores(p))
    if scores:
        head = page.heading(2, "Variant effects")
        sections.append(head + "\n".join(_scores_section(p, page) for p in scores))
    interp = _interpret_section(page)
    return sections + [interp] if interp else sections


def build_index(root: str, title: str = "zoo_tools report") -> tuple[str, str]:
    """Write ``root/index.html`` over every output found under ``root`` (ZooError if none is).

    Parameters
    ----------
    root : str
        The folder the commands wrote into (searched recursively).
    title : str
        The page's title.

    Returns
    -------
    tuple of str
        ``(path, summary)``: the page written, and a text summary of it (one line per result).
    """
    if not os.path.isdir(root):
        raise ZooError(f"{root}: not a folder; give the folder the zoo commands wrote into")
    page = _Page(root)
    summary_head = page.heading(2, "Summary")
    sections = _sections(page)
    if not sections:
        raise ZooError(
            f"{root}: no zoo_tools outputs found (metrics.json, scores, ism.npz, marginalize.tsv, motifs.tsv)"
        )
    items = "".join(f"<li>{html.escape(s)}</li>" for s in page.summary)
    summary = summary_head + (f"<ul>{items}</ul>" if items else "<p>No headline figures.</p>")
    page_html = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{_toc(page.toc)}{summary}"
        + "\n".join(sections)
        + f"<script>{_SCRIPT}</script></body></html>"
    )
    path = os.path.join(root, "index.html")
    with open(path, "w") as fh:
        fh.write(page_html)
    return path, "\n".join(page.summary)
