import os

import pytest
import yaml

from zoo_tools.core.errors import ZooError
from zoo_tools.data.config import load_data_config


def write(tmp_path, data, name="data.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return str(p)


@pytest.fixture
def files(tmp_path):
    for f in ("g.fa", "a.bw", "p.bed"):
        (tmp_path / f).write_text("x")
    return tmp_path


def base():
    return {
        "genome": "g.fa",
        "tracks": [{"name": "a", "path": "a.bw", "assay": "ATAC", "cell_type": "K562"}],
        "peaks": [{"path": "p.bed", "track": "a"}],
        "splits": {"val": ["chr2"], "test": ["chr3"]},
    }


def test_demo_config_loads_with_absolute_paths(world):
    cfg = load_data_config(os.path.join(world, "data.yaml"))
    assert os.path.isabs(cfg.genome) and os.path.exists(cfg.genome)
    assert len(cfg.tracks) == 6 and all(os.path.exists(t.path) for t in cfg.tracks)
    assert cfg.splits.val == ["chr3"] and cfg.splits.test == ["chr4"]


def test_paths_relative_to_yaml(files):
    cfg = load_data_config(write(files, base()))
    assert cfg.tracks[0].path == str(files / "a.bw")
    assert cfg.track_names == ["a"]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(trakcs=[]), r"data.yaml: unknown key 'trakcs'"),
        (lambda d: d["tracks"][0].update(colour="red"), r"unknown key 'tracks\[0\].colour'"),
        (lambda d: d.pop("genome"), r"missing key 'genome'"),
        (lambda d: d["tracks"][0].pop("path"), r"missing key 'tracks\[0\].path'"),
        (lambda d: d["peaks"][0].update(track="b"), r"peaks\[0\].track 'b' names no track"),
        (lambda d: d["tracks"].append(dict(d["tracks"][0])), r"track names must be unique \(repeated: a\)"),
        (lambda d: d["tracks"][0].update(strand="x"), r"key 'tracks\[0\].strand': strand must be"),
        (lambda d: d["splits"].update(train=["chr1"]), r"unknown key 'splits.train'"),
    ],
)
def test_errors_name_the_key(files, mutate, message):
    data = base()
    mutate(data)
    with pytest.raises(ZooError, match=message):
        load_data_config(write(files, data))


def test_missing_file_names_key(files):
    data = base()
    data["tracks"][0]["path"] = "missing.bw"
    with pytest.raises(ZooError, match=r"key 'tracks\[0\].path': file not found: .*missing.bw"):
        load_data_config(write(files, data))


def test_bad_yaml_and_missing_yaml(tmp_path):
    with pytest.raises(ZooError, match=r"bad.yaml line \d+: not valid YAML"):
        load_data_config(write(tmp_path, "genome: [unclosed\n", "bad.yaml"))
    with pytest.raises(ZooError, match="expected a mapping"):
        load_data_config(write(tmp_path, "- a\n- b\n", "list.yaml"))
    with pytest.raises(ZooError, match="YAML file not found"):
        load_data_config(tmp_path / "none.yaml")
