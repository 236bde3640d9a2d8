"""What the front doors share without importing each other (门户公用): it knows HTTP and
Twilio but no door, and no door's package is imported here (an import-linter contract).

- :mod:`edge.signature`: the ``X-Twilio-Signature`` middleware of the Twilio sub-apps.
- :mod:`edge.wording`: the wording catalogues (TOML of jinja2 templates, one file per
  language) and the value helpers of their filters; each door keeps its own files and
  its own spoken or written forms.
- :mod:`edge.metrics`: the bookings metric as the doors report to it (``on_booking``);
  the engine owns the Prometheus registry.
- :mod:`edge.periodic`: the background loop that logs a failure once and once on recovery
  (the SMS door's senders, notifier and reminders, and the engine's sweeps).
- :mod:`edge.mosquitto`: a kiosk's MQTT password and the broker's ``$7$`` hash of it (the
  console's devices screen makes them; hardware's broker files write the hash).
"""
