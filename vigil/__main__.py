"""``python -m vigil``: the same command line as the ``vigil`` script."""

import sys

from vigil.cli import main

sys.exit(main())
