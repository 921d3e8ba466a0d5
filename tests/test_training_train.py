"""End-to-end training on tiny generated data: frozen (feature cache), LoRA, partial fine-tune."""
import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from photocull.model import create_model, load_model
from photocull.training.config import load_config
from photocull.training.distortions import apply
from photocull.training.regimes import PrefixTail, apply_lora, merge_lora, unfreeze_last
from photocull.training.train import run_training

from fakes import TINY_VIT


@pytest.fixture(scope="module")
def tiny_ds(tmp_path_factory):
    """24 textured 48px images blurred at 0..5 levels; MOS falls with the level."""
    root = tmp_path_factory.mktemp("tinyds")
    (root / "images").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(24):
        base = Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).resize((48, 48), Image.BICUBIC)
        lv = i % 6
        (base if lv == 0 else apply("gaussian_blur", base, lv, seed=i)).save(root / "images" / f"{i}.png")
        rows.append([f"images/{i}.png", 100 - 15 * lv])
    with open(root / "scores.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "mos"])
        w.writerows(rows)
    return root


def tiny_cfg(root, out, *extra):
    return load_config(None, [
        "data.dataset=csv", f"data.root={root}", f"output_dir={out}", "progress=false",
        "model.backbone=siglip2", f"model.backbone_config={json.dumps(TINY_VIT)}", "model.pretrained=false",
        "model.image_size=32", "model.hidden=[16,8]", "train.epochs=2", "train.batch_size=8",
        f"frozen.cache_dir={out}/cache", "frozen.aug_views=2", *extra])


def test_frozen_run_report_model_and_feature_cache(tiny_ds, tmp_path):
    cfg = tiny_cfg(tiny_ds, tmp_path / "run", "regime=frozen", "data.splits=2",
                   "synthetic.enabled=true", f"synthetic.paths=[{tiny_ds}/images/0.png,{tiny_ds}/images/6.png]",
                   "synthetic.groups_per_step=1")
    report = run_training(cfg)
    disk = json.loads((tmp_path / "run" / "report.json").read_text())
    assert disk["split_seeds"] == [0, 1] and len(disk["splits"]) == 2
    for split in disk["splits"]:
        assert {"srcc", "plcc", "krcc", "plcc_raw"} <= set(split["metrics"])
        assert split["n_train"] + split["n_test"] == 24 and split["n_test"] == 5
        assert len(split["history"]) == 2 and split["timings"]["total_s"] > 0
        assert split["activation_report"], "gated head must report its learned gates"
    assert disk["summary"]["srcc"]["n"] == 2
    first = report["splits"][0]["feature_cache"]
    assert first["misses"] > 0 and first["hits"] == 0
    m = load_model(tmp_path / "run" / "model")
    assert m.config["activation"] == "gated"
    x = np.stack([m.preprocess(Image.open(tiny_ds / "images" / "0.png").convert("RGB"))])
    assert 0 <= float(m.predict_batch(x)[0]) <= 100
    # second identical run: every feature comes from the disk cache
    again = run_training(tiny_cfg(tiny_ds, tmp_path / "run", "regime=frozen", "data.splits=1",
                                  "synthetic.enabled=true",
                                  f"synthetic.paths=[{tiny_ds}/images/0.png,{tiny_ds}/images/6.png]",
                                  "synthetic.groups_per_step=1"))
    second = again["splits"][0]["feature_cache"]
    assert second["misses"] == 0 and second["hits"] == first["misses"]
    assert again["splits"][0]["metrics"] == pytest.approx(report["splits"][0]["metrics"])


def test_lora_run_merges_adapters_into_a_loadable_model(tiny_ds, tmp_path):
    cfg = tiny_cfg(tiny_ds, tmp_path / "lora", "regime=lora", "train.epochs=1", "save.fp16=false",
                   "train.backbone_lr=0.05")
    run_training(cfg)
    trained = dict(load_model(tmp_path / "lora" / "model").backbone.named_parameters())  # strict load
    torch.manual_seed(cfg["seed"])                     # the trainer's init for split seed 0
    init = dict(create_model(**cfg["model"]).backbone.named_parameters())
    q = next(k for k in trained if k.endswith("layers.0.self_attn.q_proj.weight"))
    v = q.replace("q_proj", "v_proj")
    assert not torch.equal(trained[q], init[q])        # the merged adapter changed q
    assert torch.equal(trained[v], init[v])            # v was not adapted


def test_lora_merge_is_exact_and_only_adapters_train():
    torch.manual_seed(0)
    m = create_model(backbone="siglip2", backbone_config=TINY_VIT, pretrained=False, image_size=32, hidden=(8, 4)).eval()
    x = torch.randn(2, 3, 32, 32)
    n = apply_lora(m.backbone, r=4, alpha=8, dropout=0.0, target_modules=["q_proj", "k_proj"])
    assert n == 2 * 2 * (4 * 32 + 32 * 4)          # 2 layers x (q, k) x (A + B)
    trainable = {name for name, p in m.backbone.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in name for name in trainable)
    for name, p in m.backbone.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.5)          # make the adapters matter
    with torch.no_grad():
        before = m(x)
    assert merge_lora(m.backbone) == 4
    with torch.no_grad():
        after = m(x)
    assert torch.allclose(before, after, atol=1e-5)
    assert not any("lora_" in k for k in m.state_dict())


def test_finetune_efficientnet_prefix_cache_only_moves_last_blocks(tiny_ds, tmp_path):
    cfg = load_config(None, [
        "data.dataset=csv", f"data.root={tiny_ds}", f"output_dir={tmp_path / 'ft'}", "progress=false",
        "regime=finetune", "model.image_size=64", "model.hidden=[16,8]", "model.backbone_config={multiscale: true}",
        "train.epochs=1", "train.batch_size=8", "train.unfreeze_blocks=1", "train.backbone_lr=0.01",
        "save.fp16=false", "synthetic.enabled=true", f"synthetic.paths=[{tiny_ds}/images/0.png]",
        "synthetic.groups_per_step=1", "synthetic.pool_epochs=1"])
    report = run_training(cfg)
    assert "prefix_cache_s" in report["splits"][0]["timings"]
    trained = load_model(tmp_path / "ft" / "model").backbone.net
    ref = create_model(pretrained=True, image_size=64, hidden=(16, 8),
                       backbone_config={"multiscale": True}).backbone.net
    assert torch.equal(trained.blocks[0][0].conv_dw.weight, ref.blocks[0][0].conv_dw.weight)
    assert torch.equal(trained.blocks[5][0].conv_pw.weight, ref.blocks[5][0].conv_pw.weight)
    assert not torch.equal(trained.blocks[6][0].conv_pw.weight, ref.blocks[6][0].conv_pw.weight)
    assert not torch.equal(trained.conv_head.weight, ref.conv_head.weight)


def test_ranking_references_are_the_best_training_photos_never_held_out(tiny_ds):
    from photocull.training.datasets import load_csv, random_splits
    from photocull.training.trainer import reference_paths

    samples = load_csv(tiny_ds)
    split = random_splits(samples, 1, 0, (0.75, 0.25))[0]
    cfg = load_config(None, ["synthetic.sets=[]", "synthetic.train_top=0.25"])
    refs = reference_paths(cfg, samples, split)
    assert len(refs) == round(0.25 * len(split.train))
    train_paths = {samples[i].path for i in split.train}
    assert set(refs) <= train_paths
    worst_ref = min(s.target for s in samples if s.path in refs)
    assert all(samples[i].target <= worst_ref for i in split.train if samples[i].path not in refs)


def test_finetune_with_spoil_groups_and_calibration(tiny_ds, tmp_path):
    cfg = load_config(None, [
        "data.dataset=csv", f"data.root={tiny_ds}", f"output_dir={tmp_path / 'ft'}", "progress=false",
        "regime=finetune", "model.image_size=64", "model.hidden=[16,8]", "train.epochs=1", "train.batch_size=8",
        "train.unfreeze_blocks=1", "save.fp16=false", "synthetic.enabled=true", "synthetic.sets=[]",
        "synthetic.train_top=0.2", "synthetic.groups_per_step=1", "synthetic.pool_epochs=1",
        "spoils.enabled=true", "spoils.types=[defocus,noise]", "spoils.groups_per_step=1",
        "spoils.pool_epochs=1", "train.calibrate=true"])
    report = run_training(cfg)
    timings = report["splits"][0]["timings"]
    assert "prefix_cache_s" in timings and "calibrate_s" in timings
    m = load_model(tmp_path / "ft" / "model")
    assert m.calibration["kind"] == "logistic" and m.calibration["slope"] > 0
    assert np.isfinite(report["splits"][0]["metrics"]["srcc"])


@pytest.mark.parametrize("multiscale", [False, True])
def test_prefix_tail_equals_backbone(multiscale):
    m = create_model(pretrained=True, image_size=64, hidden=(8, 8), backbone_config={"multiscale": multiscale}).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        full = m.backbone(x)
        assert full.shape == (2, 2224 if multiscale else 1280)
        if not multiscale:  # the plain features are timm's own forward
            assert torch.allclose(full, m.backbone.net(x), atol=1e-6)
        for cut in (0, 2, 5, 7):
            pt = PrefixTail(m.backbone, cut)
            h, taps = pt.prefix(x)
            tapped = {2: 40, 4: 112, 6: 320} if multiscale else {}  # block -> channels (avg+std each)
            assert taps.shape == (2, sum(2 * c for block, c in tapped.items() if block < cut))
            assert torch.allclose(pt.tail(h, taps), full, atol=1e-6)


def test_unfreeze_last_blocks():
    m = create_model(backbone="siglip2", backbone_config=TINY_VIT, pretrained=False, image_size=32, hidden=(8, 4))
    names = unfreeze_last(m.backbone, 1)
    assert names and not any("encoder.layers.0." in n or "embeddings" in n for n in names)
    assert any("encoder.layers.1." in n for n in names)
    assert any("post_layernorm" in n for n in names)           # everything after the blocks too
    frozen = [n for n, p in m.backbone.named_parameters() if not p.requires_grad]
    assert any("patch_embedding" in n for n in frozen)
    assert unfreeze_last(m.backbone, 0) == []
    assert len(unfreeze_last(m.backbone, -1)) == len(list(m.backbone.parameters()))


def test_ablation_shares_each_splits_prefix_cache_across_activations(tiny_ds, tmp_path, monkeypatch):
    from photocull.training import trainer
    from photocull.training.analysis import run_ablation

    computed = []
    real = trainer.SplitTrainer._prefix_cache
    monkeypatch.setattr(trainer.SplitTrainer, "_prefix_cache",
                        lambda self, pt: computed.append(self.split.seed) or real(self, pt))
    monkeypatch.setattr(trainer, "_SHARED_PREFIX", {})

    def ablate(share: bool, acts: str):
        return run_ablation(load_config(None, [
            "data.dataset=csv", f"data.root={tiny_ds}", f"output_dir={tmp_path / str(share)}", "progress=false",
            "regime=finetune", "model.image_size=64", "model.hidden=[16,8]", "train.epochs=1", "train.batch_size=8",
            "train.unfreeze_blocks=1", "data.splits=2", f"train.share_prefix_cache={str(share).lower()}",
            f"ablate.activations={acts}", "synthetic.enabled=false", "spoils.enabled=false"]))

    shared = ablate(True, "[relu,gated]")
    assert len(computed) == 2  # one prefix per split, not one per activation and split
    computed.clear()
    alone = ablate(False, "[gated]")
    assert len(computed) == 2
    assert shared["rows"][1]["per_split_srcc"] == pytest.approx(alone["rows"][0]["per_split_srcc"], abs=1e-6)
