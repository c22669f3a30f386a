"""``python -m nlu_lite``: the command line."""

from .cli import main

raise SystemExit(main())
