"""``python -m symbackprop.cli``: the same command line as the ``symbackprop`` script."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
