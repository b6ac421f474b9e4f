"""``python -m tacolib ...`` is the same as the ``tacolib`` command."""

from tacolib.cli import main

raise SystemExit(main())
