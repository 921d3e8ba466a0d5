"""CPU ms per photo of the defect analysis's stages, this tree against ``model/defects.py`` at a git
revision, interleaved in one process on one thread (``time.thread_time``, median of the rounds).

    python -m benchmarks.analysis_cost --against REV [--functions f,g] [--n 48] [--rounds 5]

``--functions``: compare only these functions of REV (the rest of the module is this tree's on
both sides), when other work in the same file has moved on since REV.

Reads the first N photos of the ``large`` workload (:func:`benchmarks.workload.large_jpegs`) as
the GUI's first scan does: the draft decode to a 448 px short side. The defect map is timed on
the first of them at 1536x1024.
"""
from __future__ import annotations

import argparse
import ast
import statistics
import subprocess
import time
import types
from pathlib import Path

import numpy as np
from PIL import Image

from photocull.app.core.decode import load_image
from photocull.model import defects

from .workload import large_jpegs

REPO = Path(__file__).resolve().parent.parent


def module_at(rev: str, functions: set[str] | None = None) -> types.ModuleType:
    """``model/defects.py`` as it was at ``rev``, as a module of its own; with ``functions``, this
    tree's module with those functions (and the module-level names they need that it lacks) from ``rev``."""
    src = subprocess.run(["git", "show", f"{rev}:model/defects.py"], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    mod = types.ModuleType(f"defects_at_{rev}")
    if functions is None:
        exec(compile(src, f"{rev}:model/defects.py", "exec"), mod.__dict__)
        return mod
    exec(compile(Path(defects.__file__).read_text(), defects.__file__, "exec"), mod.__dict__)
    for node in ast.parse(src).body:
        if isinstance(node, ast.FunctionDef) and node.name in functions:
            exec(ast.get_source_segment(src, node), mod.__dict__)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id not in mod.__dict__
                                                  for t in node.targets):
            exec(ast.get_source_segment(src, node), mod.__dict__)
    return mod


def stages(mod, imgs: list[Image.Image], big: Image.Image) -> dict[str, float]:
    """ms per call of each stage, on ``imgs`` (the defect map on ``big``)."""
    ys = [mod.luma(mod.prepare(im)) for im in imgs]
    native = [mod._native_luma(im) * np.float32(1 / 255) for im in imgs]
    runs = {"analyze": (mod.analyze, imgs),
            "reblur ratios": (lambda y: mod._ratios(*mod._reblur_parts(y), axes=(1, 2)), ys),
            "noise": (mod.noise_sigma, native),
            "prepare": (mod.prepare, imgs),
            "defect map 1536x1024": (mod.defect_map, [big] * 3)}
    out = {}
    for name, (f, data) in runs.items():
        t = time.thread_time()
        for x in data:
            f(x)  # the result is dropped: keeping them all would time the allocator
        out[name] = (time.thread_time() - t) / len(data) * 1e3
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--against", required=True, help="git revision of model/defects.py to compare with")
    ap.add_argument("--functions", help="comma-separated: only these functions from REV")
    ap.add_argument("--n", type=int, default=48, help="photos of the large workload")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    imgs = [load_image(p, min_side=defects.ANALYSIS_SIDE) for p in sorted(large_jpegs(args.n).glob("*.jpg"))]
    big = imgs[0].resize((1536, 1024), Image.Resampling.BILINEAR)
    functions = set(args.functions.split(",")) if args.functions else None
    mods = {args.against: module_at(args.against, functions), "this tree": defects}
    res = {label: [] for label in mods}
    for r in range(args.rounds):
        for label in (list(mods) if r % 2 == 0 else list(mods)[::-1]):
            res[label].append(stages(mods[label], imgs, big))
    print(f"{len(imgs)} photos, draft decode {imgs[0].size[0]}x{imgs[0].size[1]}; CPU ms per call, "
          f"median of {args.rounds} rounds")
    print(f"{'stage':22s}" + "".join(f"{label:>14s}" for label in mods))
    for stage in res[args.against][0]:
        print(f"{stage:22s}" + "".join(f"{statistics.median(x[stage] for x in res[label]):14.1f}" for label in mods))


if __name__ == "__main__":
    main()
