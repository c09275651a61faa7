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
