"""``python -m rwlib``: the same as the ``rwlib`` command."""

from rwlib.cli import main

raise SystemExit(main())
