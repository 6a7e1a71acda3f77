"""``python -m analysis`` runs the ``wi-readiness`` command line."""

from analysis.cli import main

raise SystemExit(main())
