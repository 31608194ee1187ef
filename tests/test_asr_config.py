"""Config system: defaults, YAML files, dotted overrides; unknown keys are errors naming the key."""
from pathlib import Path

import pytest
import torch
import yaml

from kfront.asr.builder import build_frontend
from kfront.asr.config import Config, ConfigError, apply_overrides, config_to_dict, load_config

CONF = Path(__file__).resolve().parents[1] / "recipes" / "timit" / "conf"


def test_defaults_and_overrides():
    cfg = apply_overrides(Config(), ["optim.lr=1e-3", "train.epochs=3", "model.rnn=lstm", "optim.betas=[0.8, 0.9]",
                                     "frontend.n_mels=80", "data.preload=false"])
    assert cfg.optim.lr == 1e-3 and isinstance(cfg.optim.lr, float)
    assert cfg.train.epochs == 3 and cfg.model.rnn == "lstm" and cfg.optim.betas == [0.8, 0.9]
    assert cfg.frontend == {"name": "mfcc", "n_mels": 80} and cfg.data.preload is False


def test_switching_frontend_by_override_starts_its_block_afresh():
    cfg = apply_overrides(Config(), ["frontend.n_mfcc=20", "frontend.name=kaleido", "frontend.kmatrix_width=2"])
    assert cfg.frontend == {"name": "kaleido", "kmatrix_width": 2}


@pytest.mark.parametrize("override, key", [("train.lrr=1", "train.lrr"), ("optimizer.lr=1", "optimizer"),
                                           ("model.hidden.size=3", "model.hidden")])
def test_unknown_override_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        apply_overrides(Config(), [override])


def test_wrong_type():
    with pytest.raises(ConfigError, match="train.epochs"):
        apply_overrides(Config(), ["train.epochs=many"])


def test_unknown_key_in_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  hiden: 3\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*model\.hiden"):
        load_config(path)


def test_yaml_number_forms(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lr: 1e-3\n  frontend_lr: 2\n")  # YAML 1.1 reads 1e-3 as a string
    cfg = load_config(path)
    assert cfg.optim.lr == 1e-3 and cfg.optim.frontend_lr == 2.0


@pytest.mark.parametrize("path", sorted(CONF.glob("*.yaml")), ids=lambda p: p.name)
def test_recipe_configs_load(path):
    cfg = load_config(path)
    assert cfg.frontend["name"] in ("mfcc", "fbank", "kaleido")


@pytest.mark.parametrize("prefix", ["mini", "timit"])
def test_mfcc_and_kaleido_mfcc_configs_differ_only_in_the_frontend_block(prefix):
    a = yaml.safe_load((CONF / f"{prefix}_mfcc.yaml").read_text())
    b = yaml.safe_load((CONF / f"{prefix}_kaleido_mfcc.yaml").read_text())
    a.pop("frontend"), b.pop("frontend")
    assert a == b
    da, db = config_to_dict(load_config(CONF / f"{prefix}_mfcc.yaml")), config_to_dict(
        load_config(CONF / f"{prefix}_kaleido_mfcc.yaml"))
    common = {"sample_rate", "n_fft", "win_length", "hop_length", "n_mels", "n_mfcc", "f_min", "window"}
    assert {k: da["frontend"][k] for k in common} == {k: db["frontend"][k] for k in common}


# The front-end comparison of the recipe: log-mel and MFCC, each fixed and learnable. What sets two of them apart
# must be the front-end, so their configs may differ in the frontend block only, and there only in what makes the
# front-end what it is (name, output, learnable stages, number of cepstra of the MFCC).
COMPARED = ("mfcc", "fbank", "kaleido_mfcc", "kaleido_fbank")
FRONTEND_IDENTITY = {"name", "output", "n_mfcc", "kmatrix_width", "learn", "init", "real_input"}


@pytest.mark.parametrize("prefix", ["mini", "timit"])
def test_compared_configs_differ_only_in_the_frontend_block(prefix):
    raw = {fe: yaml.safe_load((CONF / f"{prefix}_{fe}.yaml").read_text()) for fe in COMPARED}
    blocks = {fe: raw[fe].pop("frontend") for fe in COMPARED}
    for fe in COMPARED[1:]:
        assert raw[fe] == raw[COMPARED[0]], f"{prefix}_{fe}.yaml differs from {prefix}_mfcc.yaml outside frontend"
    shared = [{k: v for k, v in b.items() if k not in FRONTEND_IDENTITY} for b in blocks.values()]
    assert all(s == shared[0] for s in shared), shared
    assert blocks["fbank"]["name"] == "fbank" and "n_mfcc" not in blocks["fbank"]
    assert (blocks["kaleido_fbank"]["name"], blocks["kaleido_fbank"]["output"]) == ("kaleido", "fbank")
    assert (blocks["kaleido_mfcc"]["name"], blocks["kaleido_mfcc"]["output"]) == ("kaleido", "mfcc")
    # the learnable twin of each fixed front-end computes the same features at initialisation
    fixed, learnable = build_frontend(blocks["fbank"]), build_frontend(blocks["kaleido_fbank"])
    assert learnable.n_features == fixed.n_features == blocks["fbank"]["n_mels"]
    x = torch.randn(2, 4000)
    torch.testing.assert_close(learnable(x), fixed(x), rtol=1e-4, atol=1e-3)


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


# The options measured against the plain learnable MFCC: each config is its base with these keys changed.
OPTIONS = {
    "mini_kaleido_mfcc_l2sp": ("mini_kaleido_mfcc", {"optim.frontend_l2sp"}),
    "mini_kaleido_mfcc_release": ("mini_kaleido_mfcc",
                                  {"optim.frontend_freeze_epochs", "optim.frontend_release_epochs"}),
    "mini_kaleido_mfcc_fullrank": ("mini_kaleido_mfcc", {"frontend.n_mfcc"}),
    "mini_mfcc_fullrank": ("mini_mfcc", {"frontend.n_mfcc"}),
    "mini_kaleido_mfcc_packed": ("mini_kaleido_mfcc", {"frontend.real_input"}),
}


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_option_configs_differ_from_their_base_in_their_keys_only(name):
    base, keys = OPTIONS[name]
    a = _flat(config_to_dict(load_config(CONF / f"{base}.yaml")))
    b = _flat(config_to_dict(load_config(CONF / f"{name}.yaml")))
    assert {k for k in set(a) | set(b) if a.get(k) != b.get(k)} == keys
