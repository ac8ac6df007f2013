"""``python -m lstmkit demo`` is the same as ``lstmkit demo``."""

import sys

from lstmkit.cli import main

sys.exit(main())
