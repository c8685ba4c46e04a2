"""``python -m tests._adb_cli ARGS``: ``edgekit ARGS`` in a fresh process with the adb tier's two test-only
settings (tests/test_adb.py): the phone's temporary folder (``EDGEKIT_TEST_DEVICE_TMP``: adbd runs on this machine,
which has no /data/local/tmp) and the arm64 ELF check waived for the benchmark_model test double, a script.
For what only a process shows: SIGINT, its exit code, and a phone that goes away mid-run."""

import os
import sys

import targets.adb
import targets.android

targets.android.DEVICE_TMP = os.environ["EDGEKIT_TEST_DEVICE_TMP"]
targets.adb.check_binary = lambda path, sha256=None: "test-double"

from edgekit.cli import main  # noqa: E402 (after the two settings above)

sys.argv[0] = "edgekit"
sys.exit(main())
