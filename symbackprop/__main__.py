"""``python -m symbackprop``: the same command line as the ``symbackprop`` script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
