"""``python -m lstmkit.run script.py [args...]``."""

import sys

from lstmkit.run import main

sys.exit(main())
