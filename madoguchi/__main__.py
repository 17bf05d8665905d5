"""``python -m madoguchi …``: the same as the ``madoguchi`` command (child processes of the demo use it)."""

import sys

from madoguchi.cli import main

sys.exit(main())
