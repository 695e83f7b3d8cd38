"""The trace summary behind benchmarks/profile_step.py (pure Python, no profiler run)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks"))
profile_step = pytest.importorskip("profile_step")

pytestmark = pytest.mark.single_backend


def _meta(kind, pid, name, tid=None):
    event = {"ph": "M", "name": kind, "pid": pid, "args": {"name": name}}
    if tid is not None:
        event["tid"] = tid
    return event


def _span(pid, tid, ts, dur, name="kernel"):
    return {"ph": "X", "pid": pid, "tid": tid, "ts": ts, "dur": dur, "name": name}


def gpu_trace():
    return [
        _meta("process_name", 1, "/host:CPU"),
        _meta("process_name", 7, "/device:GPU:0"),
        _meta("thread_name", 7, "Stream #13(Compute)", tid=13),
        _meta("thread_name", 7, "Stream #14(MemcpyH2D)", tid=14),
        _meta("thread_name", 7, "XLA Ops", tid=99),
        _span(1, 1, 0, 1000, "PjitFunction(train_step)"),  # host: not device time
        _span(7, 13, 0, 10, "conv"),
        _span(7, 13, 5, 10, "conv"),  # overlaps the first: 0..15
        _span(7, 13, 30, 5, "fusion"),  # 30..35
        _span(7, 14, 40, 4, "MemcpyH2D"),  # 40..44
        _span(7, 99, 0, 44, "train_step"),  # derived line spanning the gaps
    ]


def test_busy_time_is_the_union_of_stream_kernels():
    summary = profile_step.summarize_trace(gpu_trace())
    assert summary["devices"] == ["/device:GPU:0"]
    # 15 + 5 + 4: overlaps counted once, gaps and the derived line not at all.
    assert summary["busy_us"] == pytest.approx(24.0)
    assert summary["span_us"] == pytest.approx(44.0)


def test_host_to_device_copies_are_counted():
    summary = profile_step.summarize_trace(gpu_trace())
    assert summary["h2d_count"] == 1
    assert summary["h2d_us"] == pytest.approx(4.0)


def test_top_kernels_by_total_time():
    top = profile_step.summarize_trace(gpu_trace())["top"]
    assert top[0] == ("conv", 20.0, 2)
    assert [name for name, _, _ in top] == ["conv", "fusion", "MemcpyH2D"]


def test_without_stream_lines_derived_lines_are_left_out():
    events = [e for e in gpu_trace() if not (e.get("tid") in (13, 14) and e["ph"] == "M")]
    summary = profile_step.summarize_trace(events)
    assert summary["busy_us"] == pytest.approx(24.0)  # the "XLA Ops" span is still skipped


def test_cpu_trace_has_no_device_timeline():
    events = [_meta("process_name", 1, "/host:CPU"), _span(1, 1, 0, 100)]
    summary = profile_step.summarize_trace(events)
    assert summary["devices"] == []
    assert summary["busy_us"] == 0.0
    assert summary["top"] == []


def test_read_trace_names_the_folder_when_empty(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        profile_step.read_trace(str(tmp_path))


def test_cpu_xla_threads_stand_in_for_the_device():
    events = [
        _meta("process_name", 1, "/host:CPU"),
        _meta("thread_name", 1, "python", tid=1),
        _meta("thread_name", 1, "tf_XLAEigen/1", tid=2),
        _meta("thread_name", 1, "tf_XLAEigen/2", tid=3),
        _span(1, 1, 0, 100, "fit"),
        _span(1, 2, 0, 10, "convolution.1"),
        _span(1, 3, 5, 10, "convolution.1"),  # parallel: 0..15 once
    ]
    summary = profile_step.summarize_trace(events)
    assert summary["devices"] == ["/host:CPU (XLA threads)"]
    assert summary["busy_us"] == pytest.approx(15.0)
    assert summary["top"] == [("convolution.1", 20.0, 2)]


def test_top_counts_kernels_not_their_envelopes():
    events = gpu_trace()[:5] + [
        _span(7, 13, 0, 50, "ThunkExecutor::Execute"),  # encloses the two below
        _span(7, 13, 0, 20, "conv"),
        _span(7, 13, 25, 20, "fusion"),
    ]
    summary = profile_step.summarize_trace(events)
    assert [name for name, _, _ in summary["top"]] == ["conv", "fusion"]
    assert summary["busy_us"] == pytest.approx(50.0)
