"""The booking core (号源与预约): domain, rules, use cases, store and outbox.

It knows nothing of HTTP, Twilio, MQTT, serial ports or HTML; every front door
goes through it.
"""
