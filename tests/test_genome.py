import numpy as np
import pytest
import torch

from zoo_tools.core.errors import ZooError
from zoo_tools.data.contigs import contig_aliases, resolve_contig
from zoo_tools.data.genome import (
    Genome,
    decode,
    gc_fraction,
    one_hot,
    rc_one_hot,
    reverse_complement,
)

from .conftest import TINY, write_fasta


def test_one_hot_hand_computed():
    x = one_hot("ACGTN")
    expected = np.array([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0]], dtype=np.float32)
    assert x.dtype == np.float32 and x.shape == (4, 5)
    np.testing.assert_array_equal(x, expected)
    np.testing.assert_array_equal(one_hot("acgtn"), expected)  # soft-masked bases count
    np.testing.assert_array_equal(one_hot("RYK"), np.zeros((4, 3)))  # IUPAC codes are all-zero like N
    assert one_hot(["AC", "GT"]).shape == (2, 4, 2)
    with pytest.raises(ZooError, match="different lengths"):
        one_hot(["A", "AC"])


def test_one_hot_matches_grelu_and_tangermeme():
    from grelu.sequence.format import strings_to_one_hot
    from tangermeme.utils import one_hot_encode

    seq = "ACGTNNacgtTTGA"
    ours = one_hot(seq)
    np.testing.assert_array_equal(ours, strings_to_one_hot(seq.upper()).numpy())  # gReLU rejects lowercase
    np.testing.assert_array_equal(ours, one_hot_encode(seq.upper()).numpy())


def test_decode_inverts_one_hot():
    assert decode(one_hot("ACGTN")) == "ACGTN"
    assert decode(one_hot(["AAN", "CGT"])) == ["AAN", "CGT"]


def test_reverse_complement_strings_and_one_hot():
    assert reverse_complement("AACGTN") == "NACGTT"
    assert reverse_complement("acgR") == "Ycgt"
    seq = "ACCGTTNA"
    np.testing.assert_array_equal(rc_one_hot(one_hot(seq)), one_hot(reverse_complement(seq)))
    batch = one_hot([seq, "GGGGATCN"])
    t = rc_one_hot(torch.from_numpy(batch))
    assert isinstance(t, torch.Tensor)
    np.testing.assert_array_equal(t.numpy(), one_hot([reverse_complement(seq), reverse_complement("GGGGATCN")]))


def test_gc_fraction_ignores_n():
    from zoo_tools.data.genome import encode

    assert gc_fraction(encode("GGCCNN")) == 1.0
    assert gc_fraction(encode("ATGC")) == 0.5
    assert np.isnan(gc_fraction(encode("NNN")))


def test_fetch_is_zero_based_half_open_and_pads(tiny_fasta):
    g = Genome(tiny_fasta)
    assert g.contigs == {"chr1": len(TINY["chr1"]), "chrM": len(TINY["chrM"])}
    assert g.fetch("chr1", 0, 4) == "ACGT"
    assert g.fetch("chr1", 10, 14) == "acgt"  # soft-masking kept in strings
    assert g.fetch("chr1", -3, 2) == "NNNAC"
    assert g.fetch("chr1", 26, 30) == "AANN"
    np.testing.assert_array_equal(g.one_hot("chr1", -1, 2), one_hot("NAC"))


def test_batch_codes_equal_single_fetches(tiny_fasta):
    g = Genome(tiny_fasta)
    chroms, starts = ["chr1", "chrM", "chr1", "chrM"], [-2, 3, 20, 10]
    batch = g.batch_codes(chroms, starts, 6)
    for row, c, s in zip(batch, chroms, starts):
        np.testing.assert_array_equal(row, g.codes(c, s, s + 6))


def test_contig_aliases(tiny_fasta, tmp_path):
    assert "1" in contig_aliases("chr1") and "chr1" in contig_aliases("1")
    assert {"chrM", "M"} <= set(contig_aliases("MT"))
    g = Genome(tiny_fasta)
    assert g.resolve("1") == "chr1"
    assert g.resolve("MT") == "chrM"
    assert g.fetch("1", 0, 2) == "AC"
    ensembl = Genome(write_fasta(tmp_path / "ens.fa", {"1": "ACGT", "MT": "GG"}))
    assert ensembl.resolve("chr1") == "1" and ensembl.resolve("chrM") == "MT"
    assert resolve_contig("CHR1", ["chr1"], "x") == "chr1"


def test_unknown_contig_lists_contigs(tiny_fasta):
    g = Genome(tiny_fasta)
    with pytest.raises(ZooError, match=r"contig 'chr9' not found in genome .*tiny.fa \(it has: chr1, chrM\)"):
        g.fetch("chr9", 0, 10)


def test_interval_outside_contig_is_an_error(tiny_fasta):
    g = Genome(tiny_fasta)
    with pytest.raises(ZooError, match="lies outside chr1"):
        g.fetch("chr1", 100, 110)
    with pytest.raises(ZooError, match="empty or reversed"):
        g.fetch("chr1", 5, 5)


def test_fasta_without_index(tmp_path):
    path = write_fasta(tmp_path / "noindex.fa", {"chr1": "ACGT"}, index=False)
    with pytest.raises(ZooError, match=r"noindex.fa has no index .*samtools faidx"):
        Genome(path)


def test_missing_fasta(tmp_path):
    with pytest.raises(ZooError, match="genome FASTA not found"):
        Genome(tmp_path / "absent.fa")


def test_crlf_fasta_and_bgzip_agree_with_plain(tmp_path):
    import pyfaidx

    seq = "ACGTTGCAAC" * 7 + "GGA"
    p = tmp_path / "crlf.fa"
    p.write_bytes(b">c1 description\r\n" + b"".join(seq[i : i + 8].encode() + b"\r\n" for i in range(0, len(seq), 8)))
    pyfaidx.Faidx(str(p)).close()
    g = Genome(p)
    assert g.contigs == {"c1": len(seq)}
    assert g.fetch("c1", 5, 30) == seq[5:30]
    assert g.fetch("c1", 70, 76) == seq[70:] + "NNN"
    np.testing.assert_array_equal(g.contig_codes("c1"), g.codes("c1", 0, len(seq)))
    # the same genome bgzip-compressed is read through pyfaidx and gives the same answers
    from Bio import bgzf

    gz = tmp_path / "crlf.fa.gz"
    with bgzf.BgzfWriter(str(gz), "wb") as w:
        w.write(b">c1\n" + b"".join(seq[i : i + 8].encode() + b"\n" for i in range(0, len(seq), 8)))
    pyfaidx.Faidx(str(gz)).close()
    z = Genome(gz)
    assert z._mm is None
    assert z.fetch("c1", 5, 30) == seq[5:30] and z.fetch("c1", 70, 76) == seq[70:] + "NNN"
