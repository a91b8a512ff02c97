"""``python -m hepml_coffea.cli``: the ``hepml-coffea`` command."""

import sys

from hepml_coffea.cli import main

sys.exit(main())
