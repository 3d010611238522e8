"""``python -m sputter_twin``: the same command as the ``sputter-twin`` console script."""

from __future__ import annotations

import sys

from sputter_twin.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
