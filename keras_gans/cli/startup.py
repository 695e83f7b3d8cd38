"""Loading Keras and TensorFlow for a script without their start-up chatter.

TensorFlow's C++ libraries log a few lines as they load (oneDNN, CPU
features, "Could not find cuda drivers", and a note that absl is not set up
yet), before absl's logging reads `TF_CPP_MIN_LOG_LEVEL`, so that variable
cannot silence them; `import keras` loads TensorFlow with that backend.
`import_library()` points file descriptor 2 at a temporary file while the
libraries load and their devices initialize, then writes back every line
that is not such known chatter.
"""

import contextlib
import os
import re
import sys
import tempfile

# Lines of TensorFlow's C++ logging ("I0102 12:34:56.789 123 port.cc:153] ...").
_NATIVE_LOG = re.compile(r"^(?P<level>[IWEF])\d{4} [\d:. ]+\d+ (?P<source>[\w.]+:\d+)\] (?P<text>.*)")
_NO_GPU = "Could not find cuda drivers"
# Errors that only repeat what start-up says anyway: no CUDA driver (cuInit
# then fails), or CUDA plugins registered by both TensorFlow and JAX/PyTorch.
_KNOWN_ERRORS = re.compile(
    r"failed call to cuInit|Unable to register cu\w+ factory|already been registered"
)
_OTHER_CHATTER = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to "
    r"STDERR|To enable the following instructions: .* rebuild TensorFlow with the "
    r"appropriate compiler flags\.)$"
)


def user_lines(text):
    """The lines of captured start-up output that are not TensorFlow's
    known chatter: its C++ INFO and WARNING lines (which
    `TF_CPP_MIN_LOG_LEVEL=2` hides once logging is set up), and the errors
    that mean only "no GPU here" or "plugin registered twice"."""
    no_gpu = _NO_GPU in text
    kept = []
    for line in text.splitlines(keepends=True):
        native = _NATIVE_LOG.match(line)
        if native and native["level"] in "IW":
            continue
        if native and _KNOWN_ERRORS.search(native["text"]) and (no_gpu or "cuInit" not in line):
            continue
        if _OTHER_CHATTER.match(line.rstrip("\n")):
            continue
        kept.append(line)
    return kept


@contextlib.contextmanager
def native_stderr_filtered():
    """Capture file descriptor 2 (C++ and Python writes alike) for the
    block, then write its `user_lines` to `sys.stderr`. Does nothing when
    `TF_CPP_MIN_LOG_LEVEL` asks for INFO or WARNING lines (0 or 1)."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") in ("0", "1"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            sys.stderr.writelines(user_lines(captured.read().decode(errors="replace")))
            sys.stderr.flush()


def import_library():
    """Import Keras and every keras_gans module (which registers their
    classes for `load_model`), and let TensorFlow find its devices (where
    it reports a missing CUDA driver), without the chatter. Sets
    `TF_CPP_MIN_LOG_LEVEL=2` unless it is set, so that later C++ INFO and
    WARNING lines stay out too."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_filtered():
        import keras_gans

        keras_gans.import_all()
        tf = sys.modules.get("tensorflow")
        if tf is not None:
            tf.config.list_physical_devices()
