"""``edgekit android``: what measuring on phones needs (docs/android.md); ``edgekit bench --serial`` measures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgekit.cli._common import err_console

android_app = typer.Typer(name="android", add_completion=False, rich_markup_mode=None, no_args_is_help=True,
                          help="Phones over adb: fetch LiteRT's benchmark_model (edgekit bench --serial measures).")


@android_app.command("fetch")
def fetch(*, version: Annotated[str | None, typer.Option("--version", help="LiteRT version (default: this machine's "
                                                         "ai-edge-litert).")] = None,
          output: Annotated[Path | None, typer.Option("-o", "--output", help="Where to install it (default: "
                                                      "edgekit's folder, where edgekit bench finds it).")] = None,
          force: Annotated[bool, typer.Option("--force", help="Replace another file at -o.")] = False) -> None:
    """Download LiteRT's android_arm64 benchmark_model and install it once its sha256 matches edgekit's table."""
    from edgekit.app.android_fetch import fetch as fetch_binary

    got = fetch_binary(version, output, force=force)
    what = "downloaded and installed" if got.downloaded else "already installed"
    err_console.print(f"LiteRT {got.version} benchmark_model (android_arm64, sha256 {got.sha256}) {what} at "
                      f"{got.path}; edgekit bench --serial uses it", markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(android_app)
