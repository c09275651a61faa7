"""The demo world's phased haplotypes (``haplotypes.vcf``) and their truth: pairs of motif-breaking
SNVs whose joint effect on one haplotype is sub-additive, with cis, trans, single, homozygous and
absent genotypes."""

import filecmp
import os

import numpy as np
import pandas as pd
import pytest
import yaml

from zoo_tools.data import demo
from zoo_tools.data.demo import DemoSpec, make_demo_world
from zoo_tools.data.demo_planting import affinity
from zoo_tools.data.genome import Genome, encode
from zoo_tools.data.motifs import find_motif, information, log_odds

SAMPLES = [f"HG{i:04d}" for i in range(1, 13)]
HAPLOTYPE_FILES = {"haplotypes.vcf", "truth/haplotype_pairs.tsv", "truth/haplotypes.tsv"}


@pytest.fixture(scope="module")
def hap(tmp_path_factory):
    """A demo world (seed 0) with its haplotype VCF read by cyvcf2 and its truth tables."""
    from cyvcf2 import VCF

    out = str(tmp_path_factory.mktemp("hap_world"))
    summary = make_demo_world(out)
    vcf = VCF(os.path.join(out, "haplotypes.vcf"))
    samples = list(vcf.samples)
    records = []
    for v in vcf:
        gt = np.array([g[:2] for g in v.genotypes])
        records.append(
            dict(chrom=v.CHROM, pos=v.POS, id=v.ID, ref=v.REF, alt=list(v.ALT), gt=gt, phased=v.gt_phases.copy())
        )
    vcf.close()
    pairs = pd.read_csv(os.path.join(out, "truth", "haplotype_pairs.tsv"), sep="\t")
    truth = pd.read_csv(os.path.join(out, "truth", "haplotypes.tsv"), sep="\t")
    return dict(out=out, summary=summary, samples=samples, records=records, pairs=pairs, truth=truth)


def _lo(motif: str) -> np.ndarray:
    return log_odds(find_motif(DemoSpec().motif_names[motif])[1])


def _by_id(hap) -> dict:
    return {r["id"]: r for r in hap["records"]}


def test_vcf_is_phased_with_twelve_samples(hap):
    recs = hap["records"]
    assert hap["samples"] == SAMPLES
    assert len(recs) == hap["summary"]["haplotype_records"] >= 16 + 11
    assert hap["summary"]["haplotype_samples"] == 12
    assert 6 <= hap["summary"]["haplotype_pairs"] == len(hap["pairs"]) <= 8
    for r in recs:
        assert r["phased"].shape == (12,) and r["phased"].all(), r["id"]
        assert (r["gt"] >= 0).all()  # no missing allele
        assert r["gt"].max() <= len(r["alt"])
    order = {c: i for i, c in enumerate(DemoSpec().contigs)}
    keys = [(order[r["chrom"]], r["pos"]) for r in recs]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    with open(os.path.join(hap["out"], "haplotypes.vcf")) as fh:
        head = [line for line in fh if line.startswith("##")]
    assert "##fileformat=VCFv4.2\n" in head and any(line.startswith("##FORMAT=<ID=GT") for line in head)
    assert sum(line.startswith("##contig=<ID=chr") and "length=" in line for line in head) == 4


def test_ref_matches_the_genome(hap):
    g = Genome(os.path.join(hap["out"], "genome.fa"))
    for r in hap["records"]:
        assert g.fetch(r["chrom"], r["pos"] - 1, r["pos"] - 1 + len(r["ref"])).upper() == r["ref"], r["id"]


def test_pairs_lie_inside_their_motif(hap):
    spec = DemoSpec()
    sites = pd.read_csv(os.path.join(hap["out"], "truth", "motif_sites.tsv"), sep="\t").set_index("site_id")
    recs = _by_id(hap)
    for p in hap["pairs"].itertuples():
        site = sites.loc[p.site_id]
        assert (site.chrom, site.start, site.end, site.strand, site.motif) == (
            p.chrom,
            p.start,
            p.end,
            p.strand,
            p.motif,
        )
        assert p.motif in spec.drivers and p.motif != spec.decoy
        assert p.tracks and p.tracks.split(",") == site.drives.split(";")
        for x in ("a", "b"):
            pos, rec = getattr(p, f"pos_{x}"), recs[getattr(p, f"id_{x}")]
            assert p.start <= pos - 1 < p.end  # 1-based VCF position inside the 0-based span
            assert (rec["chrom"], rec["pos"], rec["ref"], rec["alt"]) == (
                p.chrom,
                pos,
                getattr(p, f"ref_{x}"),
                [getattr(p, f"alt_{x}")],
            )
        # A at the most informative position of the motif, B at the second
        info = information(find_motif(spec.motif_names[p.motif])[1])
        j = [pos - 1 - p.start if p.strand == "+" else p.end - pos for pos in (p.pos_a, p.pos_b)]
        assert list(j) == [int(k) for k in np.argsort(-info, kind="stable")[:2]]
    centres = hap["pairs"].assign(c=(hap["pairs"].start + hap["pairs"].end) // 2)
    for _, on in centres.groupby("chrom"):
        assert (np.diff(np.sort(on.c.to_numpy())) >= 10_000).all()


def _site_affinity(g, p, lo, alts: dict[int, str]) -> float:
    seq = list(g.fetch(p.chrom, p.start, p.end).upper())
    for pos, alt in alts.items():
        seq[pos - 1 - p.start] = alt
    codes = encode("".join(seq))
    return affinity(lo, codes if p.strand == "+" else 3 - codes[::-1])


def test_affinities_recompute_from_the_genome(hap):
    g = Genome(os.path.join(hap["out"], "genome.fa"))
    aff = {}
    for p in hap["pairs"].itertuples():
        lo, a, b = _lo(p.motif), {p.pos_a: p.alt_a}, {p.pos_b: p.alt_b}
        got = [_site_affinity(g, p, lo, alts) for alts in ({}, a, b, {**a, **b})]
        assert np.allclose(got, [p.affinity_ref, p.affinity_a, p.affinity_b, p.affinity_ab], atol=1e-9), p.pair
        aff[p.pair] = dict(zip(("", "A", "B", "AB"), got))
    for r in hap["truth"].itertuples():
        assert r.affinity_ref == pytest.approx(aff[r.pair][""])
        assert r.affinity_hap == pytest.approx(aff[r.pair][r.carries])
        assert r.loss_a == pytest.approx(aff[r.pair][""] - aff[r.pair]["A"])
        assert r.loss_b == pytest.approx(aff[r.pair][""] - aff[r.pair]["B"])
        assert r.loss_hap == pytest.approx(r.affinity_ref - r.affinity_hap)


def test_joint_effect_is_sub_additive(hap):
    p = hap["pairs"]
    loss_a, loss_b = p.affinity_ref - p.affinity_a, p.affinity_ref - p.affinity_b
    assert (loss_a >= 0.5).all() and (loss_b >= 0.5).all()
    assert (p.affinity_ref - p.affinity_ab < loss_a + loss_b - 0.1).all()
    t = hap["truth"]
    ab = t[t.carries == "AB"]
    assert len(ab) and (ab.relation == "sub_additive").all()
    assert np.allclose(ab.additive, ab.loss_a + ab.loss_b)
    assert (ab.loss_hap < ab.additive - 0.1).all()
    single = t[t.carries != "AB"]
    assert set(single.carries) == {"A", "B"} and (single.relation == "single").all()
    assert np.allclose(single.additive, np.where(single.carries == "A", single.loss_a, single.loss_b))


def test_genotype_mix_and_truth_rows_follow_the_vcf(hap):
    recs = _by_id(hap)
    expected = []
    for p in hap["pairs"].itertuples():
        gt_a, gt_b = recs[p.id_a]["gt"], recs[p.id_b]["gt"]
        kinds = {(tuple(a), tuple(b)) for a, b in zip(gt_a, gt_b)}
        assert ((1, 0), (1, 0)) in kinds and ((0, 1), (0, 1)) in kinds, p.pair  # cis, on either haplotype
        assert kinds & {((1, 0), (0, 1)), ((0, 1), (1, 0))}, p.pair  # trans
        assert kinds & {((1, 0), (0, 0)), ((0, 1), (0, 0))}, p.pair  # A only
        assert kinds & {((0, 0), (1, 0)), ((0, 0), (0, 1))}, p.pair  # B only
        assert ((1, 1), (1, 1)) in kinds and ((0, 0), (0, 0)) in kinds, p.pair  # homozygous, none
        for s, sample in enumerate(SAMPLES):
            for h in (0, 1):
                carries = "A" * gt_a[s, h] + "B" * gt_b[s, h]
                if carries:
                    expected.append((p.pair, sample, h + 1, carries, p.id_a, p.id_b))
    t = hap["truth"]
    got = list(zip(t.pair, t["sample"], t.haplotype, t.carries, t.id_a, t.id_b))
    assert sorted(got) == sorted(expected)


def test_neutral_records_are_far_from_sites(hap):
    sites = pd.read_csv(os.path.join(hap["out"], "truth", "motif_sites.tsv"), sep="\t")
    in_pairs = set(hap["pairs"].id_a) | set(hap["pairs"].id_b)
    neutral = [r for r in hap["records"] if r["id"] not in in_pairs]
    assert len(neutral) >= 10
    for r in neutral:
        centres = ((sites.start + sites.end) // 2)[sites.chrom == r["chrom"]]
        assert (np.abs(centres - (r["pos"] - 1)) >= 1000).all(), r["id"]
    multi = [r for r in neutral if len(r["alt"]) == 2]
    assert len(multi) == 1
    gts = {tuple(g) for g in multi[0]["gt"]}
    assert (1, 2) in gts and (2, 0) in gts


def test_summary_names_the_haplotypes(hap):
    with open(os.path.join(hap["out"], "summary.yaml")) as fh:
        s = yaml.safe_load(fh)
    assert s["version"] == demo.DEMO_VERSION == 4
    assert {k: s[k] for k in ("haplotype_samples", "haplotype_records", "haplotype_pairs")} == {
        k: hap["summary"][k] for k in ("haplotype_samples", "haplotype_records", "haplotype_pairs")
    }
    assert "haplotypes.vcf" in demo.format_summary(hap["summary"])


@pytest.mark.slow
def test_other_world_files_do_not_change(hap, tmp_path):
    """Without the haplotypes (a no-op writer: the version 3 world), every other file is byte-identical."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(demo, "write_haplotype_world", lambda *a, **k: {})
        make_demo_world(str(tmp_path))
    before = {os.path.relpath(os.path.join(d, f), tmp_path) for d, _, fs in os.walk(tmp_path) for f in fs}
    after = {os.path.relpath(os.path.join(d, f), hap["out"]) for d, _, fs in os.walk(hap["out"]) for f in fs}
    assert after - before == HAPLOTYPE_FILES
    assert before - after == set()
    assert "variants.vcf" in before and "tracks/cellA_CAGE_plus.bw" in before
    changed = [
        f for f in sorted(before - {"summary.yaml"}) if not filecmp.cmp(tmp_path / f, hap["out"] + "/" + f, False)
    ]
    assert changed == []
