"""The demo world is deterministic and its planted truth is visible in the files it writes."""

import filecmp
import os

import numpy as np
import pandas as pd
import pytest

from zoo_tools.data.checks import check_data
from zoo_tools.data.demo import DemoSpec, make_demo_world
from zoo_tools.data.genome import Genome, encode
from zoo_tools.data.motifs import find_motif, log_odds
from zoo_tools.data.tracks import read_binned
from zoo_tools.data.variants import read_variants

TEXT_FILES = [
    "genome.fa",
    "variants.vcf",
    "data.yaml",
    "truth/motif_sites.tsv",
    "truth/variants.tsv",
    "allelic/allelic_counts.tsv",
    "peaks/cellA_ATAC.narrowPeak",
    "genes.gtf",
    "data_genes.yaml",
    "truth/genes.tsv",
    "truth/gene_variants.tsv",
    "gene_variants.vcf",
    "peaks/cellB_CAGE_minus.narrowPeak",
]


@pytest.mark.slow
def test_same_seed_same_world_other_seed_other_world(world, tmp_path):
    make_demo_world(str(tmp_path / "again"))
    for f in TEXT_FILES + ["tracks/cellB_H3K27ac.bw", "tracks/cellC_RNA.bw", "tracks/cellA_CAGE_plus.bw"]:
        assert filecmp.cmp(os.path.join(world, f), tmp_path / "again" / f, shallow=False), f
    make_demo_world(str(tmp_path / "other"), DemoSpec(seed=1))
    assert not filecmp.cmp(os.path.join(world, "genome.fa"), tmp_path / "other" / "genome.fa", shallow=False)


def test_world_is_valid_data(world):
    s = check_data(os.path.join(world, "data.yaml"))
    assert s["splits"] == {"train": ["chr1", "chr2"], "val": ["chr3"], "test": ["chr4"]}
    assert 0.9e6 <= s["genome_bp"] <= 1.1e6
    assert {t["cell_type"] for t in s["tracks"]} >= {"cellA", "cellB"}


def sites(world):
    return pd.read_csv(os.path.join(world, "truth", "motif_sites.tsv"), sep="\t").fillna({"drives": ""})


def test_planted_sites_are_in_the_genome(world):
    g = Genome(os.path.join(world, "genome.fa"))
    spec = DemoSpec()
    s = sites(world)
    assert s.motif.nunique() >= 4
    for motif, group in s.groupby("motif"):
        lo = log_odds(find_motif(spec.motif_names[motif])[1])
        best = lo.max(0).sum()
        for r in group.itertuples():
            codes = encode(g.fetch(r.chrom, r.start, r.end))
            if r.strand == "-":
                codes = 3 - codes[::-1]
            score = lo[codes, np.arange(len(codes))].sum()
            # a strong instance of the motif on the recorded strand, with the recorded affinity
            assert score >= 0.8 * best
            assert abs((score - best / 2) / (best / 2) - r.affinity) < 1e-6 or r.affinity == 1.0


def test_tracks_follow_their_driving_motifs(world):
    s = sites(world)
    windows = s.assign(start=(s.start + s.end) // 2 - 64, end=(s.start + s.end) // 2 + 64)
    tracks = pd.read_csv(os.path.join(world, "truth", "tracks.tsv"), sep="\t")
    y = read_binned([os.path.join(world, "tracks", f"{t}.bw") for t in tracks.track], windows, 128, progress=False)[
        :, :, 0
    ]
    for k, t in enumerate(tracks.itertuples()):
        drives = s.drives.str.split(";").apply(lambda d, t=t: t.track in d).to_numpy()
        decoy = (s.motif == "NRF1").to_numpy()
        # sites of a driving motif carry far more signal than decoy sites (which sit at background)
        assert y[drives, k].mean() > 5 * y[decoy, k].mean(), t.track
    # different sequencing depths: the same cell-type-B ATAC sites read deeper than cellC's
    assert tracks.depth.nunique() > 1


def test_variants_match_reference_and_truth(world):
    g = Genome(os.path.join(world, "genome.fa"))
    v = read_variants(os.path.join(world, "variants.vcf"), g)
    truth = pd.read_csv(os.path.join(world, "truth", "variants.tsv"), sep="\t")
    assert (v.status == "ok").all()  # every REF matches the genome
    assert len(v) == len(truth)
    assert v[["chrom", "pos", "ref", "alt"]].values.tolist() == truth[["chrom", "pos", "ref", "alt"]].values.tolist()
    assert truth.breaks_motif.sum() >= 30 and (~truth.breaks_motif).sum() >= 30
    assert set(truth.kind) == {"snv", "mnv", "indel"}
    assert (v.groupby("record").size() > 1).any()  # a multi-allelic record
    br = truth[truth.breaks_motif]
    assert (br.affinity_ref - br.affinity_alt >= 0.5).all()


def test_allelic_counts_follow_affinity(world):
    a = pd.read_csv(os.path.join(world, "allelic", "allelic_counts.tsv"), sep="\t")
    assert len(a) > 300
    obs = np.log((a.alt_count + 1) / (a.ref_count + 1))
    assert np.corrcoef(obs, a.true_log_ratio)[0, 1] > 0.6
    assert (a.loc[~a.in_motif, "true_log_ratio"] == 0).all()  # flank SNVs change nothing
