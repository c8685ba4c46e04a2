"""``edgekit ARGS`` with every conversion run in stages (``converters.stages``), however small the model: for the
staged Ctrl-C test. ``python -m tests._staged_convert ARGS...``"""

from __future__ import annotations

import sys


def main() -> int:
    from converters import memory
    from edgekit.cli import main as cli

    memory.STAGED_FROM_BYTES = 0
    return cli(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
