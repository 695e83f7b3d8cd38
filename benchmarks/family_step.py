#!/usr/bin/env python
"""Real images/second of each family's training step, interleaved A B A B.

Builds every family of `--families` as `benchmarks/quality.py` does
(`family_gan`: DCGAN with Adam 2e-4/0.5; WGAN, WGAN-GP and SAGAN with a bare
`compile()`, the papers' settings; DCGAN widths `quality.WIDTH` for all,
SAGAN with DCGAN's channels at each feature-map side), compiles each with one
warm-up step, then times `--steps` steps of each in turn, `--rounds` times,
so that a change in the machine's load falls on every family alike.

A step's real images are what it reads: `batch` for DCGAN and SAGAN,
`d_steps x batch` (5 x 64) for the WGANs, whose critic updates each take
fresh reals. Each timing window reports wall img/s, img per CPU-second
(`time.process_time`: all of the process's threads; steadier than wall time
on a shared machine) and the 1-minute load average at its end. Data: 8
synthetic uint8 batches, cycled, through `kg.data.image_dataset` as in
`train_step.py`.

usage:
    python benchmarks/family_step.py --res 64 --batch 64 --steps 2 --rounds 2 --out speeds.json
"""

import argparse
import json
import os
import sys
import time

BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCHMARKS)

import quality  # noqa: E402  (family_gan, reals_per_step; sets KERAS_BACKEND's default)
import train_step  # noqa: E402  (the synthetic dataset)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--families", default=",".join(quality.FAMILIES),
                   help=f"comma-separated subset of {','.join(quality.FAMILIES)}")
    p.add_argument("--res", type=int, default=64)
    p.add_argument("--batch", type=int, default=64, help="images per critic/discriminator update")
    p.add_argument("--steps", type=int, default=2, help="timed steps per window")
    p.add_argument("--rounds", type=int, default=2, help="windows per family, interleaved")
    p.add_argument("--out", default=None, help="also write the windows as JSON here")
    args = p.parse_args(argv)
    args.families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = sorted(set(args.families) - set(quality.FAMILIES))
    if unknown:
        p.error(f"unknown families {unknown}; choose from {list(quality.FAMILIES)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    import keras

    models = {}
    for family in args.families:
        t = time.perf_counter()
        gan = quality.family_gan(family, args.res, 3, 128, seed=0)
        reals = quality.reals_per_step(gan, args.batch)
        data = argparse.Namespace(data="synthetic", res=args.res, batch=reals, pipeline="auto")
        dataset = train_step.build_dataset(data)
        gan.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)  # compiles
        models[family] = gan, dataset, reals
        print(f"{family}: {reals} reals/step, compiled + 1 step in {time.perf_counter() - t:.0f} s",
              flush=True)

    windows = []
    for round_index in range(args.rounds):
        for family, (gan, dataset, reals) in models.items():
            wall, cpu = time.perf_counter(), time.process_time()
            gan.fit(dataset, epochs=1, steps_per_epoch=args.steps, verbose=0)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            images = args.steps * reals
            window = {"family": family, "round": round_index, "steps": args.steps, "images": images,
                      "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                      "img_per_s": round(images / wall, 1), "img_per_cpu_s": round(images / cpu, 1),
                      "load_1min": round(os.getloadavg()[0], 1)}
            windows.append(window)
            print(" ".join(f"{k}={v}" for k, v in window.items()), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "backend": keras.backend.backend(),
                       "width": quality.WIDTH, "windows": windows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
