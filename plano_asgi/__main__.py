"""``python -m plano_asgi`` runs the command line."""

from __future__ import annotations

import sys

from plano_asgi.cli import main

sys.exit(main())
