"""The same commands on a world of another shape: Ensembl contig names in the FASTA, UCSC names in
some bigWigs and peak files, other motifs, two cell types, hostile peak records; its genes in a
GFF3 (and the gene VCF) spelled chr1 against the FASTA's 1, with the lines real annotations hold."""

import json
import os

import numpy as np
import pyBigWig
import pytest
import yaml

from zoo_tools.data.demo import DemoSpec, make_demo_world

from .test_cli import run

RECIPE = os.path.join(os.path.dirname(__file__), "..", "recipes", "multitask_encode.yaml")


def rename_bigwig(path: str, prefix: str) -> None:
    """Rewrite a bigWig with every contig renamed ``prefix + name``."""
    with pyBigWig.open(path) as bw:
        sizes = bw.chroms()
        values = {c: np.nan_to_num(bw.values(c, 0, n, numpy=True)) for c, n in sizes.items()}
    out = pyBigWig.open(path, "w")
    out.addHeader([(prefix + c, n) for c, n in sizes.items()])
    for c, v in values.items():
        nz = np.flatnonzero(v)
        if len(nz):
            out.addEntries(
                [prefix + c] * len(nz), nz.tolist(), ends=(nz + 1).tolist(), values=v[nz].astype(float).tolist()
            )
    out.close()


@pytest.fixture(scope="module")
def other_world(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("other_world"))
    spec = DemoSpec(
        seed=11,
        contigs={"1": 300_000, "2": 220_000, "X": 200_000},
        val=["chr2"],
        test=["chrX"],  # split names spelled differently from the FASTA
        motif_names={
            "REST": "C130:REST:C2H2_ZF",
            "TP53": "C091:TP:p53",
            "SRF": "C134:SRF:MADS_box",
            "SOX": "C064:SOX_SRY:Sox",
        },
        drivers=["REST", "TP53", "SRF"],
        decoy="SOX",
        cell_types={"liver": {"TP53": 1.0, "SRF": 0.5}, "brain": {"REST": 1.0, "SRF": 0.5}},
        inactive_for_chip=[],
        depths={"liver_ATAC": 2.0, "brain_ATAC": 0.6},
        gene_format="gff3",  # an Ensembl-style GFF3 spelled chr1 against the FASTA's 1, hostile lines in it
        gene_contig_prefix="chr",
        hostile_annotation=True,
    )
    make_demo_world(out, spec)
    rename_bigwig(os.path.join(out, "tracks", "liver_ATAC.bw"), "chr")  # UCSC names in one track
    peaks = os.path.join(out, "peaks", "brain_ATAC.narrowPeak")
    lines = open(peaks).read().splitlines()
    hostile = ["track name=brain_atac", "# a comment"] + [f"chr{line}" for line in lines[:-1]]
    last = lines[-1].split("\t")
    last[9] = "-1"  # summit unknown: centre on the midpoint
    hostile.append("\t".join(last))
    with open(peaks, "w", newline="") as fh:
        fh.write("\r\n".join(hostile) + "\r\n")  # CRLF line ends
    return out


def test_check_data_on_other_world(other_world):
    res = run(
        "check-data",
        os.path.join(other_world, "data.yaml"),
        "--regions",
        os.path.join(other_world, "peaks", "brain_ATAC.narrowPeak"),
    )
    assert res.returncode == 0, res.stderr
    lines = {x.split(":")[0].strip(): x for x in res.stdout.splitlines()}
    assert lines["val"].endswith("background windows on 2") and lines["test"].endswith("background windows on X")


@pytest.fixture(scope="module")
def other_tuned(other_world, tmp_path_factory, zoo_home):
    out = tmp_path_factory.mktemp("other_ft")
    res = run(
        "finetune",
        RECIPE,
        "--out",
        out,
        "--set",
        f"data={os.path.join(other_world, 'data.yaml')}",
        "train.freeze_trunk=true",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return out


@pytest.mark.slow
def test_finetune_on_other_world(other_world, other_tuned):
    m = json.loads((other_tuned / "metrics.json").read_text())
    assert m["chromosomes"] == {"train": ["1"], "val": ["2"], "test": ["X"]}
    assert set(m["test"]["per_task"]) == {"liver_ATAC", "liver_H3K27ac", "brain_ATAC", "brain_H3K27ac"}
    assert m["test"]["mean"]["pearson"] > 0.3  # the pretrained vocabulary covers these motifs too
    data = yaml.safe_load(open(os.path.join(other_world, "data.yaml")))
    assert data["splits"] == {"val": ["chr2"], "test": ["chrX"]}


@pytest.mark.slow
def test_score_variants_on_other_world(other_world, other_tuned, tmp_path):
    """UCSC names in the VCF against an Ensembl FASTA; the planted truth still ranks first."""
    import pandas as pd

    from zoo_tools.core.metrics import auroc
    from zoo_tools.score import read_scores

    src = open(os.path.join(other_world, "variants.vcf")).read().splitlines()
    vcf = tmp_path / "ucsc.vcf"
    vcf.write_text(
        "\n".join(
            line.replace("##contig=<ID=", "##contig=<ID=chr")
            if line.startswith("##")
            else line
            if line.startswith("#")
            else "chr" + line
            for line in src
        )
        + "\n"
    )
    out = tmp_path / "s.tsv"
    res = run(
        "score-variants",
        "--model",
        f"local:{other_tuned}",
        "--vcf",
        vcf,
        "--genome",
        os.path.join(other_world, "genome.fa"),
        "--out",
        out,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    s = read_scores(str(out))
    truth = pd.read_csv(os.path.join(other_world, "truth", "variants.tsv"), sep="\t", dtype={"chrom": str})
    m = s.merge(truth, on=["chrom", "pos", "ref", "alt"], how="left")
    assert (s.status == "ok").all() and set(s.chrom) <= {"1", "2", "X"} and m.breaks_motif.notna().all()
    assert auroc(m.max_abs_effect.to_numpy(), m.breaks_motif.to_numpy().astype(bool)) >= 0.85


@pytest.mark.slow
def test_siamese_and_novel_cell_type_on_other_world(other_world, tmp_path):
    import pandas as pd

    root = os.path.join(os.path.dirname(__file__), "..", "recipes")
    # the allelic table in UCSC spelling with a few hostile rows
    table = pd.read_csv(os.path.join(other_world, "allelic", "allelic_counts.tsv"), sep="\t", dtype={"chrom": str})
    table["chrom"] = "chr" + table["chrom"]
    bad = table.head(3).copy()
    bad.loc[bad.index[0], "chrom"] = "chrUn_gl000220"
    bad.loc[bad.index[1], "ref"] = "N"
    bad.loc[bad.index[2], "alt"] = "<DEL>"
    pd.concat([table, bad]).to_csv(os.path.join(other_world, "allelic", "hostile.tsv"), sep="\t", index=False)
    cfg = yaml.safe_load(open(os.path.join(other_world, "data.yaml")))
    cfg["allelic"]["path"] = "allelic/hostile.tsv"
    data = os.path.join(other_world, "data_hostile_allelic.yaml")
    with open(data, "w") as fh:
        yaml.safe_dump(cfg, fh)
    res = run(
        "finetune", os.path.join(root, "siamese_allelic.yaml"), "--out", tmp_path / "siam", "--set", f"data={data}"
    )
    assert res.returncode == 0, res.stderr[-3000:]
    m = json.loads((tmp_path / "siam" / "metrics.json").read_text())
    assert m["allelic_rows"]["ok"] == len(table) and sum(m["allelic_rows"].values()) == len(table) + 3
    assert m["allelic_rows"]["contig_missing"] == 1 and m["allelic_rows"]["not_snv"] == 2
    assert m["chromosomes"]["test"] == ["X"] and m["test"]["pooled"]["truth"]["pearson"] > 0.3
    res = run(
        "finetune",
        os.path.join(root, "novel_celltype_atac.yaml"),
        "--out",
        tmp_path / "novel",
        "--set",
        f"data={os.path.join(other_world, 'data.yaml')}",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    m = json.loads((tmp_path / "novel" / "metrics.json").read_text())
    assert m["holdout_cell_types"] == ["brain"] and m["train_cell_types"] == ["liver"]
    test = m["evaluations"]["test"]
    assert test["model"]["mean"]["pearson"] > test["cell_type_average"]["mean"]["pearson"]


@pytest.mark.slow
def test_genes_on_other_world(other_world, tmp_path):
    """check-data counts the genes the reader skips; the gene figures hold on the GFF3 world."""
    from .test_gene_world import gene_metrics, score_world_genes, variant_truth

    data = os.path.join(other_world, "data_genes.yaml")
    res = run("check-data", data)
    assert res.returncode == 0, res.stderr
    assert "genes.gff3 (1 " in res.stdout and "skipped: no_exons 1, contig_missing 1, past_contig_end 1" in res.stdout
    ft = tmp_path / "ft"
    res = run("finetune", RECIPE, "--out", ft, "--set", f"data={data}", "train.freeze_trunk=true")
    assert res.returncode == 0, res.stderr[-3000:]
    scores, res = score_world_genes(ft, other_world, "genes.gff3", tmp_path / "genes.parquet")
    assert "contig_missing 1" in res.stderr  # the skipped genes are said, not dropped silently
    assert set(scores.chrom) <= {"1", "2", "X"} and scores.gene_id.str.startswith("DG").all()
    m = gene_metrics(scores, variant_truth(other_world))
    print(f"other world gene effects: {m}")
    assert m["auroc"] >= 0.9 and m["sign"] >= 0.9 and m["ranks_first"] >= 0.8 and m["n_two_genes"] >= 10


def _hostile_50(src: str, dest, genome) -> dict:
    """The world's 12-sample phased VCF as 50 samples spelled chr1 against the FASTA's 1, with the
    genotype fields real VCFs hold (see the test for who is who): GT:DP and DP:GT, unphased calls,
    ./., half calls, swapped phase, haploid calls, a bare '.', an overlapping deletion, a symbolic ALT."""
    lines = open(src).read().splitlines()
    head = [x.replace("##contig=<ID=", "##contig=<ID=chr") for x in lines if x.startswith("##")]
    body = [x.split("\t") for x in lines if not x.startswith("#")]
    first = body[0]
    first[9] = "1|1"  # P01 carries the first record on both haplotypes, and a deletion over it: overlapping
    dpos = int(first[1]) - 1
    dref = genome.fetch(first[0], dpos - 1, dpos + 2)
    extra = [[first[0], str(dpos), "del1", dref, dref[0], ".", "PASS", ".", "GT", "1|1"] + ["0|0"] * 11]
    extra.append(
        [first[0], str(dpos + 1), "sv1", first[3], "<DEL>", ".", "PASS", ".", "GT", "0|0", "1|1"] + ["0|0"] * 10
    )
    rows = []
    for k, f in enumerate(sorted(extra + body, key=lambda f: (f[0], int(f[1])))):
        gts = f[9:21]
        calls = list(gts)  # P01-P12: the phased originals
        calls += [g.replace("|", "/") for g in gts]  # P13-P24: the same calls unphased
        calls += ["./."] * 6 + [".|" + g[-1] for g in gts[:6]]  # P25-P30 missing; P31-P36 half calls
        calls += ["|".join(g.split("|")[::-1]) for g in gts]  # P37-P48: the originals with the haplotypes swapped
        calls += [gts[0][0]]  # P49: a haploid call (the first allele of P01's)
        fmt = "DP:GT" if k % 3 == 0 else "GT:DP"  # GT is not always first
        cols = [f"35:{g}" if fmt == "DP:GT" else (f"{g}:35" if i < 12 else g) for i, g in enumerate(calls)]
        rows.append("\t".join(["chr" + f[0], *f[1:8], fmt, *cols, "."]))  # P50: a bare '.'
    names = [f"P{i:02d}" for i in range(1, 51)]
    header = "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *names])
    dest.write_text("\n".join(head + [header] + rows) + "\n")
    return {"deletion_pos": dpos, "first_pos": int(first[1])}


def test_haplotypes_and_calibration_on_other_world(other_world, other_tuned, tmp_path):
    """50 samples with hostile genotype fields, a VCF spelled chr1 against the FASTA's 1: every
    carrier gets a row with the status its call gives; phased rows equal the 12-sample run's."""
    import pandas as pd

    from zoo_tools.data.genome import Genome
    from zoo_tools.score import read_scores

    fa = os.path.join(other_world, "genome.fa")
    where = _hostile_50(os.path.join(other_world, "haplotypes.vcf"), tmp_path / "h50.vcf", Genome(fa))
    cal = tmp_path / "cal.parquet"
    res = run("calibrate", "--model", f"local:{other_tuned}", "--genome", fa, "--out", cal, "--random", 600)
    assert res.returncode == 0, res.stderr[-2000:]
    common = ["--model", f"local:{other_tuned}", "--genome", fa, "--haplotypes", "--calibration", cal]
    res = run("score-variants", *common, "--vcf", tmp_path / "h50.vcf", "--out", tmp_path / "h50.tsv", "--fdr", 0.1)
    assert res.returncode == 0, res.stderr[-2000:]
    h = read_scores(str(tmp_path / "h50.tsv"))
    base = run("score-variants", *common, "--vcf", os.path.join(other_world, "haplotypes.vcf"), "--out",
               tmp_path / "h12.tsv")  # fmt: skip
    assert base.returncode == 0, base.stderr[-2000:]
    h12 = read_scores(str(tmp_path / "h12.tsv"))
    assert set(h.chrom) <= {"1", "2", "X"}  # the genome's spelling
    k = lambda s: int(s[1:]) if s != "." else 0  # noqa: E731
    h = h.assign(n=h["sample"].map(k))
    miss = h[((h.n >= 25) & (h.n <= 36) | (h.n == 50)) & (h.alt != "<DEL>")]  # (a symbolic ALT says so first)
    assert (miss.status == "missing_gt").all() and (miss.haplotype == ".").all()
    # every record x ALT has a row for each of P25-P30 and P50 (./. and '.': the call is missing)
    n_alleles = h12.groupby(["record", "alt"]).ngroups + 2  # + the deletion and the symbolic allele
    assert len(h[h.n.isin([25, 26, 27, 28, 29, 30, 50])]) == 7 * n_alleles
    unph = h[(h.n >= 13) & (h.n <= 24) & (h.alt != "<DEL>")]
    assert set(unph.status) <= {"ok", "unphased", "overlapping_alleles"}
    assert set(unph[unph.status == "overlapping_alleles"].n) <= {13}  # P01's 1|1 calls unphased are still known
    # a homozygous call is known on both haplotypes, but an unphased het in its window makes the haplotype unknown
    u = unph[unph.status == "unphased"]
    assert (u[u.haplotype != "."].note.str.startswith("unphased at ")).all() and (u.haplotype == ".").any()
    het = unph[unph.status == "ok"]
    assert (het.n_alleles >= 1).all()
    over = h[(h.n == 1) & (h.pos.isin([where["deletion_pos"], where["first_pos"]]))]
    assert (over.status == "overlapping_alleles").all() and len(over) >= 1
    assert over.note.str.contains(" overlaps ").all()
    sv = h[h.alt == "<DEL>"]
    assert (sv.status == "symbolic_allele").all()
    assert h[(h.n == 2) & (h.status == "ok")].note.str.contains("<DEL> .symbolic_allele. not applied").any()
    # phased rows of P03-P12 (not the samples given the two added records) equal the 12-sample run's;
    # so do P39-P48's, whose haplotypes are swapped
    score = [c for c in h.columns if c.endswith(":diff")]
    h12 = h12[h12.status == "ok"]
    orig = h12.assign(n=h12["sample"].map(lambda s: int(s[2:])))
    for offset, swap in ((0, False), (36, True)):
        mine = h[(h.n > offset + 2) & (h.n <= offset + 12) & (h.status == "ok")]
        hap = mine.haplotype.astype(int)
        mine = mine.assign(n=mine.n - offset, haplotype=(3 - hap if swap else hap).astype(str))
        j = orig.merge(mine, on=["pos", "alt", "n", "haplotype"], suffixes=("", "_m"))
        assert len(j) == len(orig[orig.n > 2]) and len(j) >= 100
        for c in score:
            np.testing.assert_allclose(j[c], j[c + "_m"], atol=1e-4)
    assert all(c + ":quantile" in h.columns and c + ":q" in h.columns for c in score)
    sub = run("score-variants", *common[:-2], "--vcf", tmp_path / "h50.vcf", "--out", tmp_path / "sub.tsv",
              "--samples", "P40,P03")  # fmt: skip
    assert sub.returncode == 0, sub.stderr[-2000:]
    s = read_scores(str(tmp_path / "sub.tsv"))
    order = s[s["sample"] != "."].groupby(["record", "alt"])["sample"].apply(list)
    assert all(x == sorted(x, key=["P40", "P03"].index) for x in order)
    assert pd.api.types.is_numeric_dtype(s["n_alleles"])
