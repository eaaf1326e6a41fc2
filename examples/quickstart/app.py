"""The same listener in your own module: ``uvicorn examples.quickstart.app:app --port 8001``.

``plano-asgi serve examples/quickstart/plano_config.yaml`` does this for you.
"""

from __future__ import annotations

from pathlib import Path

from plano_asgi import PlanoMiddleware

app = PlanoMiddleware(config=Path(__file__).with_name("plano_config.yaml"))
