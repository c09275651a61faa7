"""Gene annotations (issue 15, part 1): GENCODE-style GTF and Ensembl-style GFF3 into one gene table,
with hand-worked TSS, exons and transcript choice, contig aliases and hostile lines."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genes import _merged, read_genes
from zoo_tools.data.genome import Genome

from .conftest import write_fasta


def gtf_line(chrom, feature, start, end, strand, **attrs):
    tags = attrs.pop("tags", [])
    text = " ".join(f'{k} "{v}";' for k, v in attrs.items()) + "".join(f' tag "{t}";' for t in tags)
    return f"{chrom}\tHAVANA\t{feature}\t{start}\t{end}\t.\t{strand}\t.\t{text}"


# 1-based inclusive, as in the file. Hand-worked answers in 0-based half-open below.
GENES = [
    # G1 (+): two transcripts; the canonical one (T1b) is the shorter
    gtf_line("chr1", "gene", 101, 900, "+", gene_id="G1", gene_name="ONE", gene_type="protein_coding"),
    gtf_line("chr1", "transcript", 101, 900, "+", gene_id="G1", transcript_id="T1a", tags=["basic"]),
    gtf_line("chr1", "exon", 101, 300, "+", gene_id="G1", transcript_id="T1a"),
    gtf_line("chr1", "exon", 501, 900, "+", gene_id="G1", transcript_id="T1a"),
    gtf_line(
        "chr1", "transcript", 151, 700, "+", gene_id="G1", transcript_id="T1b", tags=["basic", "Ensembl_canonical"]
    ),
    gtf_line("chr1", "exon", 151, 250, "+", gene_id="G1", transcript_id="T1b"),
    gtf_line("chr1", "exon", 601, 700, "+", gene_id="G1", transcript_id="T1b"),
    # G2 (-), overlapping G1 on the other strand, no tags: the longest transcript (T2b)
    gtf_line("chr1", "gene", 801, 1500, "-", gene_id="G2", gene_name="TWO", gene_type="lncRNA"),
    gtf_line("chr1", "transcript", 801, 1000, "-", gene_id="G2", transcript_id="T2a"),
    gtf_line("chr1", "exon", 801, 1000, "-", gene_id="G2", transcript_id="T2a"),
    gtf_line("chr1", "transcript", 801, 1500, "-", gene_id="G2", transcript_id="T2b"),
    gtf_line("chr1", "exon", 801, 950, "-", gene_id="G2", transcript_id="T2b"),
    gtf_line("chr1", "exon", 1201, 1500, "-", gene_id="G2", transcript_id="T2b"),
    # G3: a single exon on chr2, tagged MANE_Select only
    gtf_line("chr2", "gene", 11, 60, "+", gene_id="G3", gene_name="THREE", gene_type="protein_coding"),
    gtf_line("chr2", "transcript", 11, 60, "+", gene_id="G3", transcript_id="T3", tags=["MANE_Select"]),
    gtf_line("chr2", "exon", 11, 60, "+", gene_id="G3", transcript_id="T3"),
    # G4 on a contig the genome lacks; G5 past the end of chr2 (1,000 bp); G6 without exons
    gtf_line("chrUn", "exon", 1, 10, "+", gene_id="G4", transcript_id="T4"),
    gtf_line("chr2", "exon", 990, 1200, "+", gene_id="G5", transcript_id="T5"),
    gtf_line("chr2", "gene", 100, 200, "+", gene_id="G6", gene_name="SIX"),
]


@pytest.fixture
def files(tmp_path):
    fa = write_fasta(tmp_path / "g.fa", {"1": "A" * 2000, "2": "C" * 1000})  # FASTA spelled 1, 2
    gtf = tmp_path / "genes.gtf.gz"
    with gzip.open(gtf, "wt") as fh:
        fh.write("##description: GENCODE-style\n" + "\n".join(GENES) + "\n")
    return Genome(fa), str(gtf)


def test_gtf_gene_table_by_hand(files):
    genome, gtf = files
    t = read_genes(gtf, genome)
    g = t.genes.set_index("gene_id")
    assert list(g.index) == ["G1", "G2", "G3"]
    assert g.loc["G1", "transcript"] == "T1b" and g.loc["G1", "exons"] == ((150, 250), (600, 700))
    assert (g.loc["G1", "tss"], g.loc["G1", "start"], g.loc["G1", "end"]) == (150, 150, 700)
    # minus strand: TSS is the last base of the last exon (1500, 1-based) = 1499 0-based
    assert g.loc["G2", "transcript"] == "T2b" and g.loc["G2", "exons"] == ((800, 950), (1200, 1500))
    assert g.loc["G2", "tss"] == 1499 and g.loc["G2", "strand"] == "-" and g.loc["G2", "gene_type"] == "lncRNA"
    assert g.loc["G3", "transcript"] == "T3" and g.loc["G3", "exons"] == ((10, 60),) and g.loc["G3", "tss"] == 10
    assert set(g.chrom) == {"1", "2"}  # the genome's spelling
    assert t.skipped == {"no_exons": 1, "contig_missing": 1, "past_contig_end": 1}


def test_union_merges_every_transcript(files):
    genome, gtf = files
    g = read_genes(gtf, genome, transcript="union").genes.set_index("gene_id")
    assert g.loc["G1", "exons"] == ((100, 300), (500, 900)) and g.loc["G1", "tss"] == 100
    assert g.loc["G2", "exons"] == ((800, 1000), (1200, 1500)) and g.loc["G2", "tss"] == 1499
    assert g.loc["G1", "transcript"] == "union"
    # touching intervals join, overlapping ones merge, per gene (genes in order of first appearance)
    iv = pd.DataFrame({"gene_id": ["b", "a", "b", "b", "a"], "start0": [5, 0, 0, 10, 7], "end": [8, 5, 5, 12, 9]})
    m = _merged(iv)
    assert list(zip(m.gene_id, m.start0, m.end)) == [("b", 0, 8), ("b", 10, 12), ("a", 0, 5), ("a", 7, 9)]


def test_gff3_gives_the_same_table(files, tmp_path):
    genome, gtf = files
    lines = ["##gff-version 3"]
    for line in GENES[:16]:  # G1-G3 in Ensembl GFF3 style
        f = line.split("\t")
        a = dict(kv.strip().split(" ", 1) for kv in f[8].split(";") if kv.strip() and not kv.strip().startswith("tag"))
        a = {k: v.strip('"') for k, v in a.items()}
        tags = ",".join(t.split('"')[1] for t in f[8].split(";") if t.strip().startswith("tag"))
        if f[2] == "gene":
            attr = f"ID=gene:{a['gene_id']};Name={a['gene_name']};biotype={a['gene_type']}"
        elif f[2] == "transcript":
            f[2] = "mRNA"
            attr = f"ID=transcript:{a['transcript_id']};Parent=gene:{a['gene_id']}" + (f";tag={tags}" if tags else "")
        else:
            attr = f"Parent=transcript:{a['transcript_id']}"
        lines.append("\t".join(f[:8] + [attr]))
    gff = tmp_path / "genes.gff3"
    gff.write_text("\n".join(lines) + "\n")
    a = read_genes(str(gff), genome).genes
    b = read_genes(gtf, genome).genes
    b = b[b.gene_id.isin(a.gene_id)].reset_index(drop=True)
    assert a.drop(columns="gene_type").equals(b.drop(columns="gene_type"))
    assert a.gene_type.tolist() == ["protein_coding", "lncRNA", "protein_coding"]


@pytest.mark.parametrize(
    "bad, message",
    [
        ("chr1\tHAVANA\texon\t1\t10\t.\t+\t.", r"line 2: 8 column\(s\); a GTF line needs 9"),
        (gtf_line("chr1", "exon", "1x", 10, "+", gene_id="G"), r"line 2: start '1x' is not a whole number"),
        (gtf_line("chr1", "exon", 20, 10, "+", gene_id="G"), r"line 2: start 20 and end 10 do not make"),
        (gtf_line("chr1", "exon", 1, 10, "+", transcript_id="T"), r"line 2: the exon has no gene_id attribute"),
        (gtf_line("chr1", "exon", 1, 10, "*", gene_id="G"), r"line 2: strand '\*' is not"),
    ],
)
def test_hostile_lines_are_named(tmp_path, bad, message):
    p = tmp_path / "bad.gtf"
    p.write_text(GENES[0] + "\n" + bad + "\n")
    with pytest.raises(ZooError, match=r"bad.gtf, " + message):
        read_genes(str(p))


def test_not_an_annotation(tmp_path):
    p = tmp_path / "x.gtf"
    p.write_text("# only comments\n")
    with pytest.raises(ZooError, match="no gene, transcript or exon lines"):
        read_genes(str(p))
    with pytest.raises(ZooError, match="--transcript 'longest'"):
        read_genes(str(p), transcript="longest")


def test_check_data_reports_the_annotation(files, tmp_path):
    import yaml

    from .conftest import write_bigwig
    from .test_cli import run

    genome, gtf = files
    write_bigwig(tmp_path / "a.bw", {"chr1": 2000, "chr2": 1000}, [("chr1", 0, 2000, 1.0), ("chr2", 0, 1000, 2.0)])
    data = {"genome": "g.fa", "tracks": [{"name": "a", "path": "a.bw"}], "genes": "genes.gtf.gz"}
    data["splits"] = {"by": "region", "val_fraction": 0.2, "test_fraction": 0.2}
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(data))
    res = run("check-data", tmp_path / "data.yaml", "--seq-len", "64")
    assert res.returncode == 0, res.stderr
    line = [x for x in res.stdout.splitlines() if x.startswith("  genes")][0]
    assert "3 from" in line and "(1 2, 2 1)" in line
    assert "skipped: no_exons 1, contig_missing 1, past_contig_end 1" in line


def test_wrong_path_and_wrong_build_are_one_line(files, tmp_path):
    from .test_cli import assert_user_error, run

    genome, gtf = files
    with pytest.raises(ZooError, match=r"gene annotation not found: .*nope.gtf"):
        read_genes(str(tmp_path / "nope.gtf"))
    other = tmp_path / "other.gtf"  # every gene on contigs the FASTA lacks
    other.write_text(gtf_line("chrZ", "exon", 1, 10, "+", gene_id="Z", transcript_id="Zt") + "\n")
    res = run("predict", "demo:base", "--genome", genome.path, "--genes", other, "--out", tmp_path / "o.tsv")
    assert_user_error(res, "other.gtf: no gene lies on the genome's contigs", "contig_missing")
