"""Flags, output and exit codes."""

import os

# typer's rich help imports rich.markdown and markdown-it (~0.3 s at every --help); click's plain
# help costs nothing. Progress output still uses rich, imported only when it prints.
# Set here, before any module of this package imports typer.
os.environ.setdefault("TYPER_USE_RICH", "0")
