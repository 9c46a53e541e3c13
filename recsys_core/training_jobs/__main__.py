"""``python -m recsys_core.training_jobs run KEY``: the job process (:mod:`.child`)."""

import sys

from .child import main

sys.exit(main())
