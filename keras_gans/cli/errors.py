"""How a script ends: one line per expected error, and its exit status.

Imports no Keras: a script's argument errors are reported before Keras and
TensorFlow load.

| status | when |
|---|---|
| 0 | done |
| 2 | a bad argument, a missing file, an unknown dataset, a missing package: `<prog>: error: <what, and the fix>` |
| 3 | training diverged (`keras_gans.callbacks.DivergenceError`): `<prog>: error: <where, which loss, what to try>` |
| 130 | Ctrl-C: `<prog>: interrupted` (and how to resume) |

Set `KERAS_GANS_TRACEBACK=1` to see the traceback of an expected error too.
"""

import os
import sys

EXIT_ERROR = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130

#: Errors a user can fix from the command line, besides the library's own
#: (`expected_errors`).
BUILTIN_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
    ValueError,
    ImportError,
)


def one_line(error, limit=1000):
    """`error`'s message on one line (whitespace runs collapsed), at most
    `limit` characters; its class name when it has no message."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _loaded_class(module, name):
    # A class of a module that is loaded already: an error of a module that
    # was never imported cannot have been raised, so nothing is imported here.
    return getattr(sys.modules.get(module), name, None)


def expected_errors():
    """The exception classes `run_main` reports in one line with status 2."""
    download_error = _loaded_class("keras_gans.data", "DatasetDownloadError")
    return BUILTIN_ERRORS + ((download_error,) if download_error else ())


def run_main(main, argv=None, prog=None):
    """Run `main(argv)` and exit with its status (None counts as 0),
    reporting expected errors in one line on stderr (see the table above).
    Other exceptions propagate with their traceback.

    Example:

    ```python
    if __name__ == "__main__":
        run_main(main)
    ```
    """
    prog = prog or os.path.basename(sys.argv[0] or "keras_gans")
    try:
        status = main(argv)
    except KeyboardInterrupt as e:
        detail = f": {one_line(e)}" if str(e) else ""
        print(f"{prog}: interrupted{detail}", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as e:
        diverged = _loaded_class("keras_gans.callbacks", "DivergenceError")
        status = EXIT_DIVERGED if diverged and isinstance(e, diverged) else EXIT_ERROR
        if status == EXIT_ERROR and not isinstance(e, expected_errors()):
            raise
        if os.environ.get("KERAS_GANS_TRACEBACK"):
            raise
        print(f"{prog}: error: {one_line(e)}", file=sys.stderr)
        sys.exit(status)
    sys.exit(status or 0)
