import pytest

from zoo_tools.core.errors import ZooError
from zoo_tools.data.genome import Genome
from zoo_tools.data.variants import Variant, read_variants

HEADER = "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=28>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def vcf(tmp_path, body):
    p = tmp_path / "v.vcf"
    p.write_text(HEADER + body)
    return str(p)


def test_statuses_and_multiallelic_split(tiny_fasta, tmp_path):
    # tiny chr1 = ACGTACGTNNacgtGGGGCCCCAATTAA (1-based: pos 1 = A, pos 15 = G)
    body = (
        "\n".join(
            [
                "1\t1\tv1\tA\tG,T\t.\t.\t.",  # alias 1 -> chr1, split into two rows
                "chr1\t2\tv2\tG\tA\t.\t.\t.",  # genome has C at pos 2
                "chr1\t15\tv3\tGGGG\tG\t.\t.\t.",  # deletion, matches
                "chr1\t27\tv4\tAAA\tA\t.\t.\t.",  # runs past the contig end (28 bp)
                "chr9\t5\tv5\tA\tC\t.\t.\t.",  # contig not in the genome
                "chr1\t5\tv6\tA\t<DEL>\t.\t.\t.",  # symbolic
                "chr1\t5\tv7\tA\t.\t.\t.\t.",  # no ALT
                "chr1\t9\tv8\tN\tA\t.\t.\t.",  # N in REF matches anything
                "chrM\t1\tv9\tG\tGTT\t.\t.\t.",  # insertion on chrM
            ]
        )
        + "\n"
    )
    df = read_variants(vcf(tmp_path, body), Genome(tiny_fasta))
    assert df[["id", "alt", "status"]].values.tolist() == [
        ["v1", "G", "ok"],
        ["v1", "T", "ok"],
        ["v2", "A", "ref_mismatch"],
        ["v3", "G", "ok"],
        ["v4", "A", "out_of_bounds"],
        ["v5", "C", "contig_missing"],
        ["v6", "<DEL>", "symbolic_allele"],
        ["v7", ".", "missing_alt"],
        ["v8", "A", "ok"],
        ["v9", "GTT", "ok"],
    ]
    assert df.chrom.tolist()[:2] == ["chr1", "chr1"]  # genome spelling
    assert df.record.tolist() == [0, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert df.allele.tolist()[:2] == [1, 2]


def test_variant_kind_and_start():
    v = Variant(0, 1, "chr1", 10, ".", "A", "ATT", "ok")
    assert v.start == 9 and v.kind == "insertion"
    assert Variant(0, 1, "c", 1, ".", "AC", "A", "ok").kind == "deletion"
    assert Variant(0, 1, "c", 1, ".", "AC", "GT", "ok").kind == "mnv"
    assert Variant(0, 1, "c", 1, ".", "AC", "G", "ok").kind == "complex"


def test_unreadable_vcf(tmp_path):
    with pytest.raises(ZooError, match="VCF not found"):
        read_variants(tmp_path / "none.vcf")
    p = tmp_path / "empty.vcf"
    p.write_text(HEADER)
    with pytest.raises(ZooError, match="no records"):
        read_variants(str(p))


def test_malformed_record_names_its_line(tmp_path):
    p = vcf(tmp_path, "chr1\t5\t.\tA\tC\t.\t.\t.\nchr1\tx\t.\tA\tC\t.\t.\t.\n")
    # 3 header lines, so the second record is line 5
    with pytest.raises(ZooError, match=r"v.vcf, line 5: POS 'x' is not a number; fix or remove that line"):
        read_variants(p)
    df = read_variants(p, skip_malformed=True)
    assert df.status.tolist() == ["ok", "malformed"] and df.line.tolist() == [4, 5]
    junk = tmp_path / "junk.vcf"
    junk.write_text("hello\n")
    with pytest.raises(ZooError, match=r"junk.vcf, line 1: a data line before the '#CHROM' header line"):
        read_variants(str(junk))
    (tmp_path / "none.vcf").write_text("##fileformat=VCFv4.2\n")
    with pytest.raises(ZooError, match=r"none.vcf: no '#CHROM' header line"):
        read_variants(str(tmp_path / "none.vcf"))
