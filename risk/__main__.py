"""Entry point for ``python -m risk``."""

import sys

from risk.cli import main

if __name__ == "__main__":  # not when a child process imports it (spawn)
    sys.exit(main())
