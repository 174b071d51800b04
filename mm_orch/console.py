"""What mm-orch prints besides its answers: a quiet console by default, one progress display for first-run work.

:func:`configure` is called once by the CLI before anything heavy is imported. Without ``verbose`` it silences
what third-party libraries print on a normal run — transformers' "Loading weights" bars and advisories,
huggingface_hub bars, tqdm bars (bm25s), their INFO/DEBUG logs and their warnings — and leaves mm-orch's own
warnings and errors visible. With ``verbose`` everything is shown and mm-orch logs at INFO.

:func:`progress` is the one progress display (rich, on stderr) for long work done once and cached: converting
the embedded model, building the search index and the corpus vectors. A later run finds the cache and shows
nothing.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

__all__ = ["NOISY_LOGGERS", "QUIET_ENV", "configure", "progress"]

#: Environment defaults that keep third-party libraries quiet (set before they are imported; a value the user
#: exported wins).
QUIET_ENV = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # also turns off transformers' own tqdm ("Loading weights")
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TQDM_DISABLE": "1",  # bm25s and other tqdm users; mm-orch's own display is rich
    "TOKENIZERS_PARALLELISM": "false",
}
#: Loggers of libraries that log progress at INFO (or chatter at WARNING) on a normal run.
NOISY_LOGGERS = (
    "bm25s",
    "sentence_transformers",
    "transformers",
    "huggingface_hub",
    "torch",
    "ray",
    "httpx",
    "urllib3",
    "filelock",
    "skops",
)
_OWN_MODULES = r"(mm_orch|steps|router|serve|deployments)(\..*)?$"


def configure(verbose: bool = False) -> None:
    """Set up logging and third-party output for a CLI run (see the module docstring)."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if verbose:
        return
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    # Third-party warnings (deprecations, FutureWarnings) are for their callers' developers, not for users;
    # a warning mm-orch's own code issues stays visible. The later filter is checked first.
    warnings.filterwarnings("ignore")
    warnings.filterwarnings("default", module=_OWN_MODULES)


@contextmanager
def progress(enabled: bool = True) -> Iterator[Progress]:
    """The one progress display: a rich Progress on stderr (nothing at all when ``enabled`` is False)."""
    console = Console(file=sys.stderr, quiet=not enabled)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        yield bar
