"""What the front doors share without importing each other (门户公用): it knows HTTP and
Twilio but no door, and no door's package is imported here (an import-linter contract).

- :mod:`edge.signature`: the ``X-Twilio-Signature`` middleware of the Twilio sub-apps.
"""
