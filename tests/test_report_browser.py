"""``zoo report`` in a real browser: headless Chromium renders the page over a folder of outputs.

The folder holds one of each output the page shows (a fine-tuning run, a scores table with a demo
truth, ISM, a marginalisation, a TF-MoDISco folder in the current ``motifs.tsv`` format and one in
the old one), written by hand with matplotlib figures, so no model is trained. Chromium loads the
page, runs its script and dumps the DOM: the script records in ``<body data-*>`` how many images it
could not decode and how many tables have no rows, and every table header must carry its sort
handler. The sorter itself is run on a table of numbers and words in the same browser. Chromium must
be on PATH (``.ci/run`` installs Debian's ``chromium``); without it the test fails.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from .test_cli import run

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "no headless browser on PATH (looked for chromium, chromium-browser, google-chrome): this test "
        "renders the report in a real browser; install Debian's chromium (apt-get install chromium), as .ci/run does"
    )


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium with its own profile folder; stdout is what ``--dump-dom`` prints."""
    cmd = [
        _browser(),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        *args,
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-3000:]}"
    return res


def _png(path: Path, kind: str) -> None:
    """A small real figure of each kind the commands write."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(kind))
    fig, ax = plt.subplots(figsize=(4, 2.5) if kind != "logo" else (3, 1.2))
    if kind == "curves":
        ax.plot([1, 2, 3], [1.0, 0.7, 0.6], marker="o", label="train loss")
        ax.plot([1, 2, 3], [1.1, 0.9, 0.85], marker="o", label="val loss")
        ax.legend()
    elif kind == "scatter":
        x = rng.normal(size=200)
        ax.scatter(x, x + rng.normal(scale=0.4, size=200), s=4)
    elif kind == "heatmap":
        ax.imshow(rng.normal(size=(4, 30)), aspect="auto", cmap="RdBu_r")
    else:
        ax.bar(range(6 if kind == "logo" else 2), rng.uniform(0.2, 2, 6 if kind == "logo" else 2), color="tab:red")
    fig.savefig(path, dpi=60)
    plt.close(fig)


def _run_folder(root: Path) -> None:
    run_dir = root / "runs" / "mt"
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text("name: x\n")
    metrics = {
        "recipe": "multitask_encode",
        "model": "demo:base",
        "chromosomes": {"test": ["chr4"]},
        "epochs_run": 3,
        "test": {
            "per_task": {"a": {"pearson": 0.5}, "b": {"pearson": 0.7}, "c": {"pearson": 0.65}},
            "mean": {"pearson": 0.617},
        },
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    _png(run_dir / "curves.png", "curves")
    _png(run_dir / "pred_vs_obs.png", "scatter")
    (root / "world" / "truth").mkdir(parents=True)
    (root / "world" / "truth" / "variants.tsv").write_text(
        "chrom\tpos\tref\talt\tbreaks_motif\nchr1\t1\tA\tC\tTrue\nchr1\t2\tA\tC\tTrue\nchr1\t3\tA\tC\tFalse\n"
        "chr1\t4\tA\tC\tFalse\n"
    )
    (root / "scores.tsv").write_text(
        "record\tchrom\tpos\tid\tref\talt\tstatus\tt:diff\tmax_abs_effect\n0\tchr1\t1\t.\tA\tC\tok\t0.9\t0.9\n"
        "1\tchr1\t2\t.\tA\tC\tok\t0.2\t0.2\n2\tchr1\t3\t.\tA\tC\tok\t0.3\t0.3\n3\tchr1\t4\t.\tA\tC\tok\t0.1\t0.1\n"
    )


def _interpret_folder(root: Path) -> None:
    ism = root / "interpret" / "ism"
    ism.mkdir(parents=True)
    np.savez_compressed(
        ism / "ism.npz",
        effects=np.zeros((1, 4, 30, 1), np.float32),
        one_hot=np.zeros((1, 4, 64), np.float32),
        start=10,
        end=40,
        tasks=np.array(["cellA_ATAC"]),
        names=np.array(["peak1"]),
    )
    _png(ism / "ism_peak1.png", "heatmap")
    marg = root / "interpret" / "marginalize_CEBP"
    marg.mkdir(parents=True)
    (marg / "marginalize.tsv").write_text(
        "motif\tspacing\ttask\tbefore\tafter\tcontrol\teffect\tci_low\tci_high\tp_value\tspecific\t"
        "specific_ci_low\tspecific_ci_high\tspecific_p\tn_backgrounds\n"
        "C027:CEBP:bZIP (TTGCGCAA)\t0\tcellA_ATAC\t0.1\t0.9\t0.15\t0.8\t0.7\t0.9\t1e-9\t0.75\t0.6\t0.9\t1e-8\t64\n"
        "C027:CEBP:bZIP (TTGCGCAA)\t0\tcellB_ATAC\t0.1\t0.1\t0.1\t0.0\t-0.05\t0.05\t0.9\t0.0\t-0.05\t0.05\t0.9\t64\n"
    )
    _png(marg / "marginalize.png", "bars")


MOTIFS = (
    "pattern\tn_seqlets\tstart\tend\twidth\tinformation\tmatch_1\tq_1\tfdr_1\tmatch_2\tq_2\tmatch_3\tq_3\t"
    "status\tname\treason\n"
    "pos_pattern_0\t410\t8\t20\t12\t11.2\tC027:CEBP:bZIP\t0.0004\t0.01\tC028:HLF:bZIP\t0.02\t\t\tnamed\t"
    "C027:CEBP:bZIP\tC027:CEBP:bZIP: q 0.0004 (max 0.05), empirical FDR 0.01 (max 0.05)\n"
    "pos_pattern_1\t25\t5\t15\t10\t7.3\tC010:GATA:ZF\t0.01\t0.02\t\t\t\t\tfew_seqlets\t\t25 seqlets < 32\n"
    "neg_pattern_0\t90\t3\t13\t10\t8.0\tC084:ZNF:C2H2_ZF\t0.003\t0.4\t\t\t\t\tno_significant_match\t\t"
    "C084:ZNF:C2H2_ZF: q 0.003 (max 0.05), empirical FDR 0.4 (max 0.05)\n"
)


def _modisco_folders(root: Path) -> None:
    new = root / "interpret" / "modisco"
    new.mkdir(parents=True)
    (new / "motifs.tsv").write_text(MOTIFS)
    for p in ("pos_pattern_0", "pos_pattern_1", "neg_pattern_0"):
        _png(new / "logos" / f"{p}.png", "logo")
    (new / "report.html").write_text("<html><body>logos</body></html>")
    old = root / "interpret" / "modisco_0.2"  # a folder written before motifs.tsv had `status`
    old.mkdir(parents=True)
    (old / "motifs.tsv").write_text(
        "pattern\tn_seqlets\tmatch_1\tq_1\npos_pattern_0\t300\tC010:GATA:ZF\t0.001\npos_pattern_1\t50\tC001:X\t0.3\n"
    )


class _Dom(HTMLParser):
    """What the checks need from the DOM: ids, links of the table of contents, images, tables."""

    def __init__(self):
        super().__init__()
        self.ids, self.toc, self.imgs, self.body = set(), [], [], {}
        self.ths, self.figures, self.captions, self.tables = [], 0, 0, []
        self._nav = self._in_body = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        self._nav |= tag == "nav"
        if tag == "a" and self._nav:
            self.toc.append(a.get("href", ""))
        self.imgs += [a.get("src", "")] if tag == "img" else []
        self.body = a if tag == "body" else self.body
        self.ths += [(a.get("class") or "", self.tables[-1])] if tag == "th" and self.tables else []
        self.figures += tag == "figure"
        self.captions += tag == "figcaption"
        if tag == "table":
            self.tables.append(a.get("class") or "")

    def handle_endtag(self, tag):
        self._nav &= tag != "nav"


def _report(tmp_path: Path) -> tuple[Path, subprocess.CompletedProcess]:
    root = tmp_path / "out"
    _run_folder(root)
    _interpret_folder(root)
    _modisco_folders(root)
    return root, run("report", root, "--title", "browser check")


def _check_dom(dom: _Dom, root: Path) -> None:
    assert dom.toc and all(h.startswith("#") and h[1:] in dom.ids for h in dom.toc), (dom.toc, dom.ids)
    for needed in ("summary", "fine-tuning", "variant-effects", "interpretation"):
        assert f"#{needed}" in dom.toc, dom.toc
    assert len(dom.toc) >= 14, dom.toc  # 4 sections; run, scores, ISM, marginalisation, 2 MoDISco + 4 tables
    missing = [s for s in dom.imgs if not (root / urllib.parse.unquote(s)).is_file()]
    assert len(dom.imgs) == 7 and not missing, (dom.imgs, missing)  # 4 figures, 3 logos
    assert dom.body.get("data-broken-images") == "0", dom.body
    assert dom.body.get("data-empty-tables") == "0", dom.body
    assert dom.figures == dom.captions == 4, (dom.figures, dom.captions)
    assert dom.ths and all("sortable" in c.split() for c, _ in dom.ths), dom.ths
    assert dom.body.get("data-sortable-headers") == str(len(dom.ths)), (dom.body, len(dom.ths))


def test_report_renders_in_chromium(tmp_path):
    root, res = _report(tmp_path)
    assert res.returncode == 0, res.stderr
    assert "interpret/modisco: 3 patterns; named: C027:CEBP:bZIP; 2 stayed unnamed" in res.stdout, res.stdout
    assert "interpret/modisco_0.2: 2 patterns; named: C010:GATA:ZF; 1 stayed unnamed" in res.stdout, res.stdout
    assert "cellA_ATAC" in res.stdout and "scores.tsv: 4 alleles scored, auROC 0.750" in res.stdout
    page = root / "index.html"
    text = page.read_text()
    assert "Unnamed patterns and why" in text and "25 seqlets &lt; 32" in text and "few_seqlets" in text
    assert "<tbody></tbody>" not in text and "://" not in text  # no empty table, nothing fetched from outside
    dom_text = _chromium(tmp_path / "profile", "--dump-dom", page.as_uri()).stdout
    dom = _Dom()
    dom.feed(dom_text)
    _check_dom(dom, root)
    shot = tmp_path / "shot.png"
    _chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,4000", page.as_uri())
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size[0] == 1280, im.size
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, f"screenshot looks blank ({len(colours or [])} colours)"


SORT_PAGE = """<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>
<table class='t sortable'><thead><tr><th>n</th><th>word</th></tr></thead><tbody>
<tr><td>10</td><td>pear</td></tr><tr><td>9</td><td>apple</td></tr><tr><td></td><td>fig</td></tr>
<tr><td>100</td><td>kiwi</td></tr><tr><td>-1e-3</td><td>date</td></tr><tr><td>inf</td><td>lime</td></tr>
</tbody></table>
<script>{script}</script>
<script>
window.addEventListener("load", function () {{
  var th = document.querySelectorAll("th"), col = function (i) {{
    return Array.prototype.map.call(document.querySelectorAll("tbody tr"), function (r) {{
      return r.cells[i].textContent; }}).join(","); }};
  th[0].click(); document.body.dataset.up = col(0);
  th[0].click(); document.body.dataset.down = col(0);
  th[1].click(); document.body.dataset.words = col(1);
}});
</script></body></html>"""


def test_report_tables_sort_in_chromium(tmp_path):
    """The page's own sorter: numbers numerically (not as text), empty cells last, words A-Z."""
    root, res = _report(tmp_path)
    assert res.returncode == 0, res.stderr
    script = re.search(r"<script>(.*?)</script>", (root / "index.html").read_text(), re.S).group(1)
    page = tmp_path / "sort.html"
    page.write_text(SORT_PAGE.format(script=script))
    dom = _Dom()
    dom.feed(_chromium(tmp_path / "profile", "--dump-dom", page.as_uri()).stdout)
    assert dom.body.get("data-up") == "-1e-3,9,10,100,inf,", dom.body
    assert dom.body.get("data-down") == "inf,100,10,9,-1e-3,", dom.body
    assert dom.body.get("data-words") == "apple,date,fig,kiwi,lime,pear", dom.body
