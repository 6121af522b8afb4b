"""The staff console in the browser, served by the backend under ``/console`` (see
:func:`backend.console.app.create_console`, mounted by the ASGI factory)."""
