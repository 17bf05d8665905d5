"""``python -m images.provision``."""

import sys

from images.provision.cli import main

sys.exit(main())
