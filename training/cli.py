"""``photocull-train`` / ``python -m training``: train, eval, ablate, analyze, ship, demo-shoot."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


def _config(args) -> dict:
    from .config import configs_dir, load_config

    path = args.config
    if path is not None and not Path(path).exists() and (configs_dir() / path).exists():
        path = configs_dir() / path          # bare names resolve to training/configs/
    return load_config(path, args.override or [])


def _add_config_args(p, required=True):
    p.add_argument("config", nargs=None if required else "?", default=None,
                   help="YAML config (a path, or a name in training/configs/)")
    p.add_argument("--override", "-o", action="append", metavar="KEY=VALUE",
                   help="override a config value, e.g. train.epochs=3 (repeatable)")


def cmd_train(args) -> int:
    from .train import run_training

    cfg = _config(args)
    report = run_training(cfg)
    s = report["summary"]
    print(f"{cfg['name']}: SRCC {s['srcc']['median']:.4f}  PLCC {s['plcc']['median']:.4f}  "
          f"KRCC {s['krcc']['median']:.4f} (median of {s['srcc']['n']} split(s), seeds "
          f"{report['split_seeds']})")
    print(f"report: {Path(cfg['output_dir']) / 'report.json'}")
    if report["model_dir"]:
        print(f"model:  {report['model_dir']}")
    return 0


def _eval_samples(args, model_dir):
    from .analysis import held_out_paths, select
    from .datasets import load_dataset

    samples = load_dataset(args.dataset, args.root)
    paths = None if args.all else held_out_paths(model_dir)
    return select(samples, paths), paths is None


def cmd_eval(args) -> int:
    from photocull.model import load_model

    from .analysis import evaluate
    from .train import write_json

    m = load_model(args.model)
    samples, whole = _eval_samples(args, args.model)
    if not samples:
        print("no images to evaluate", file=sys.stderr)
        return 1
    metrics, _ = evaluate(m, samples)
    result = {"model": str(args.model), "dataset": args.dataset, "n": len(samples),
              "subset": "all" if whole else "held-out split of the training run", "metrics": metrics}
    print(json.dumps(result, indent=2))
    if args.out:
        write_json(Path(args.out), result)
    return 0


def cmd_ablate(args) -> int:
    from .analysis import run_ablation

    cfg = _config(args)
    table = run_ablation(cfg)
    print((Path(cfg["output_dir"]) / "ablation.md").read_text(encoding="utf-8"))
    return 0 if table["rows"] else 1


def cmd_analyze(args) -> int:
    from photocull.model import load_model

    from .analysis import run_analysis

    m = load_model(args.model)
    samples, _ = _eval_samples(args, args.model)
    if args.limit:
        samples = samples[: args.limit]
    info = run_analysis(m, samples, args.out, per_bucket=args.per_bucket)
    print(json.dumps(info, indent=2))
    return 0


def cmd_demo_shoot(args) -> int:
    from .demo import build_demo_shoot

    written = build_demo_shoot(args.out_dir, args.kodak)
    print(f"wrote {len(written)} files to {args.out_dir}")
    return 0


def cmd_ship(args) -> int:
    from .ship import ship

    dest = ship(args.run_dir, args.dest, check=args.check)
    print(f"shipped {args.run_dir} -> {dest}")
    print((dest / "MODEL_CARD.md").read_text(encoding="utf-8"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="photocull-train", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train per a YAML config; writes report.json and the model")
    _add_config_args(t)
    t.set_defaults(fn=cmd_train)

    for name, fn, help_ in (("eval", cmd_eval, "evaluate a saved model (SRCC/PLCC/KRCC)"),
                            ("analyze", cmd_analyze, "t-SNE of head features + Grad-CAM per bucket")):
        e = sub.add_parser(name, help=help_)
        e.add_argument("model", help="model folder (model.safetensors + config.json)")
        e.add_argument("--dataset", default="clive")
        e.add_argument("--root", default=None, help="dataset folder (default data_dir()/<dataset>)")
        e.add_argument("--all", action="store_true",
                       help="use every image, not just the training run's held-out split")
        e.set_defaults(fn=fn)
    sub.choices["eval"].add_argument("--out", help="also write the result JSON here")
    an = sub.choices["analyze"]
    an.add_argument("--out", required=True, help="output folder for PNGs + analysis.json")
    an.add_argument("--limit", type=int, default=None, help="use only the first N images")
    an.add_argument("--per-bucket", type=int, default=3)

    a = sub.add_parser("ablate", help="activations x splits; writes ablation.md + ablation.json")
    _add_config_args(a)
    a.set_defaults(fn=cmd_ablate)

    sh = sub.add_parser("ship", help="install a trained run as the embedded default model "
                                     "(fp16 weights, verified ONNX export, model card)")
    sh.add_argument("run_dir", help="a 'train' output folder (model/ + report.json)")
    sh.add_argument("--dest", default=None, help="target folder (default resources/models/default)")
    sh.add_argument("--check", action="append", default=[], metavar="RUN",
                    help="a held-out check run of the same recipe (its folder), reported in the model card "
                         "when RUN_DIR saw every photo; repeat it for a cross-validation run in parts (pooled)")
    sh.set_defaults(fn=cmd_ship)

    d = sub.add_parser("demo-shoot", help="build the app's demo shoot from Kodak photos")
    d.add_argument("out_dir")
    d.add_argument("--kodak", default=None, help="Kodak folder (default data_dir()/pristine/kodak24)")
    d.set_defaults(fn=cmd_demo_shoot)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s: %(message)s")
    return int(args.fn(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
