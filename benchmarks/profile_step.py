"""Where the time of the library's DCGAN `fit()` step goes, on the JAX backend.

Same model, data and flags as `train_step.py`. After the warm-up it measures:

- **compiles**: XLA compilations during the timed steps (recompilation; should be 0);
- **input**: host milliseconds per batch for the input pipeline alone
  (the Keras data adapter that `fit()` uses, then `jax.device_put`);
- **step**: wall milliseconds per step through `fit()`;
- **device**: from a `jax.profiler` trace of the same steps, the device's busy
  time per step (the union of its kernel intervals), its idle time per step
  (wall minus busy: launch gaps, waiting for input, host work), host-to-device
  copies (count and time per step), and the costliest kernels.

On the CPU backend XLA runs its ops on host threads (`tf_XLAEigen`); those
threads stand in for the device: busy is the time any of them runs an op.

usage:
    python benchmarks/profile_step.py --res 64 --batch 128 --steps 50 --steps-per-execution 8 \
        [--precision mixed_bfloat16] [--data ../shared/data/flowers128] [--trace-dir DIR]

Prints `profile key=value ...` lines (one per measurement) and keeps the raw
trace under --trace-dir (Perfetto or TensorBoard open it).
"""

import collections
import glob
import gzip
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_step  # noqa: E402  (the benchmark's model and data)

# Derived lines of the trace viewer that repeat what the streams show.
_DERIVED_LINES = ("XLA Modules", "XLA Ops", "Steps", "Launch Stats", "Framework", "Source", "TensorFlow")
_BOOKKEEPING = ("end: ", "ThreadpoolListener", "SlinkyThreadPool")
_H2D = re.compile(r"memcpy.*(h2d|htod)|(h2d|htod).*memcpy", re.IGNORECASE)


def _union_length(intervals):
    """Total length covered by (start, end) intervals."""
    total, end_so_far = 0.0, None
    start_so_far = None
    for start, end in sorted(intervals):
        if end_so_far is None or start > end_so_far:
            if end_so_far is not None:
                total += end_so_far - start_so_far
            start_so_far, end_so_far = start, end
        else:
            end_so_far = max(end_so_far, end)
    if end_so_far is not None:
        total += end_so_far - start_so_far
    return total


def _leaves(events):
    """Events enclosing no other event on their line (kernels, not their envelopes)."""
    by_line = collections.defaultdict(list)
    for e in events:
        # Instant markers and XLA:CPU's thread-pool bookkeeping are not kernels.
        if float(e.get("dur", 0)) >= 1.0 and not e.get("name", "").startswith(_BOOKKEEPING):
            by_line[(e["pid"], e.get("tid"))].append(e)
    leaves = []
    for line in by_line.values():
        line.sort(key=lambda e: (float(e["ts"]), -float(e["dur"])))
        for e, after in zip(line, line[1:] + [None]):
            end = float(e["ts"]) + float(e["dur"])
            encloses = after is not None and float(after["ts"]) + float(after["dur"]) <= end
            if not encloses:
                leaves.append(e)
    return leaves


def summarize_trace(events):
    """Device timeline of a Chrome-format trace (`traceEvents`), in microseconds.

    Returns a dict with `devices` (names found), `busy_us` (union of device
    kernel intervals), `span_us` (first device event start to last end),
    `h2d_count`, `h2d_us`, and `top` [(kernel name, total us, count)] over
    leaf events, or
    `devices == []` when the trace has no accelerator timeline.
    """
    process_names, thread_names = {}, {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "process_name":
            process_names[e["pid"]] = e.get("args", {}).get("name", "")
        elif e.get("ph") == "M" and e.get("name") == "thread_name":
            thread_names[(e["pid"], e.get("tid"))] = e.get("args", {}).get("name", "")
    devices = {pid: name for pid, name in process_names.items()
               if re.search(r"/device:(GPU|TPU)", name)}
    device_events = [e for e in events if e.get("ph") == "X" and e.get("pid") in devices]
    streams = {key for key, name in thread_names.items() if key[0] in devices and name.startswith("Stream")}
    if not devices:
        # XLA on the CPU: its ops run on the host's XLA Eigen thread pool.
        streams = {key for key, name in thread_names.items() if name.startswith("tf_XLAEigen")}
        device_events = [e for e in events if e.get("ph") == "X" and (e["pid"], e.get("tid")) in streams]
        if streams:
            devices = {pid: process_names.get(pid, "?") + " (XLA threads)" for pid, _ in streams}
    if streams:  # kernels and copies live on the stream lines
        device_events = [e for e in device_events if (e["pid"], e.get("tid")) in streams]
    else:
        device_events = [
            e for e in device_events
            if not thread_names.get((e["pid"], e.get("tid")), "").startswith(_DERIVED_LINES)
        ]
    intervals = [(float(e["ts"]), float(e["ts"]) + float(e.get("dur", 0))) for e in device_events]
    h2d = [e for e in device_events
           if _H2D.search(e.get("name", "")) or _H2D.search(thread_names.get((e["pid"], e.get("tid")), ""))]
    per_name = collections.defaultdict(lambda: [0.0, 0])
    for e in _leaves(device_events):
        per_name[e.get("name", "?")][0] += float(e.get("dur", 0))
        per_name[e.get("name", "?")][1] += 1
    top = sorted(((n, t, c) for n, (t, c) in per_name.items()), key=lambda x: -x[1])[:8]
    return {
        "devices": sorted(devices.values()),
        "busy_us": _union_length(intervals),
        "span_us": (max(e for _, e in intervals) - min(s for s, _ in intervals)) if intervals else 0.0,
        "h2d_count": len(h2d),
        "h2d_us": sum(float(e.get("dur", 0)) for e in h2d),
        "top": top,
    }


def read_trace(trace_dir):
    """Events of the newest `*.trace.json.gz` that jax.profiler wrote under trace_dir."""
    files = glob.glob(os.path.join(trace_dir, "plugins", "profile", "*", "*.trace.json.gz"))
    if not files:
        raise FileNotFoundError(f"no *.trace.json.gz under {trace_dir}/plugins/profile")
    with gzip.open(max(files, key=os.path.getmtime), "rt") as f:
        return json.load(f).get("traceEvents", [])


def input_ms_per_batch(dataset, batches):
    """Host ms per batch: the Keras data adapter fit() uses, then device_put."""
    import jax
    from keras.src.trainers.data_adapters import get_data_adapter

    iterator = get_data_adapter(dataset).get_jax_iterator()
    try:
        jax.block_until_ready(jax.device_put(next(iterator)))
        start = time.perf_counter()
        for _ in range(batches):
            batch = jax.device_put(next(iterator))
        jax.block_until_ready(batch)
        return (time.perf_counter() - start) * 1e3 / batches
    finally:
        getattr(iterator, "close", lambda: None)()  # stops the PyDataset's workers


def main(argv=None):
    p = train_step.build_parser()
    p.description = __doc__
    p.set_defaults(backend="jax", steps=50)
    p.add_argument("--trace-dir", default=None, help="keep the jax.profiler trace here (default: a temp folder)")
    args = p.parse_args(argv)
    if args.backend != "jax":
        p.error("the profile reads jax.profiler traces: use --backend jax")
    train_step.select_backend(args)
    import jax

    gan = train_step.build_gan(args)
    dataset = train_step.build_dataset(args)

    def run(steps):
        gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)

    run(max(args.warmup, args.steps_per_execution))

    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, seconds, **kw: compiles.append(seconds)
        if event == "/jax/core/compile/backend_compile_duration" else None
    )
    start = time.perf_counter()
    run(args.steps)
    step_ms = (time.perf_counter() - start) * 1e3 / args.steps

    trace_dir = args.trace_dir or tempfile.mkdtemp(prefix="keras_gans_profile_")
    jax.profiler.start_trace(trace_dir)
    start = time.perf_counter()
    run(args.steps)
    traced_ms = (time.perf_counter() - start) * 1e3 / args.steps
    jax.profiler.stop_trace()
    n_compiles = len(compiles)

    input_ms = input_ms_per_batch(dataset, args.steps)
    summary = summarize_trace(read_trace(trace_dir))

    head = (f"profile backend=jax platform={jax.default_backend()} res={args.res} batch={args.batch} "
            f"precision={args.precision} data={train_step.data_label(args)} spe={args.steps_per_execution}")
    print(f"{head} step_ms={step_ms:.3f} img/s={args.batch * 1e3 / step_ms:.1f} "
          f"traced_step_ms={traced_ms:.3f} compiles_in_timed_steps={n_compiles} "
          f"input_ms_per_batch={input_ms:.3f}", flush=True)
    if summary["devices"]:
        busy_ms = summary["busy_us"] / 1e3 / args.steps
        print(f"{head} device={'|'.join(summary['devices'])} busy_ms={busy_ms:.3f} "
              f"idle_ms={traced_ms - busy_ms:.3f} busy_fraction={busy_ms / traced_ms:.3f} "
              f"h2d_per_step={summary['h2d_count'] / args.steps:.2f} "
              f"h2d_ms={summary['h2d_us'] / 1e3 / args.steps:.3f}", flush=True)
        for name, total_us, count in summary["top"]:
            print(f"{head} kernel_ms_per_step={total_us / 1e3 / args.steps:.3f} "
                  f"calls_per_step={count / args.steps:.1f} name={name[:100]}", flush=True)
    else:
        print(f"{head} device=none (no accelerator timeline in the trace: busy/idle unavailable)", flush=True)
    print(f"{head} trace_dir={trace_dir}", flush=True)


if __name__ == "__main__":
    main()
