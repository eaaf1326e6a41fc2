"""The model gateway: one OpenAI-compatible endpoint in front of every provider.

:class:`~plano_asgi.gateway.app.ModelGateway` is the ASGI app of the ``type: model``
listener. Import it from :mod:`plano_asgi.gateway.app`; this package does not import its
modules on import, so ``plano_asgi`` stays cheap to import when no gateway is served.
"""
