"""The JSON API under ``/api/v1`` that hospital systems, kiosks and scripts talk to.

``hospital_api.web.make_app(services)`` builds the sub-application; ``auth.new_token``
and ``auth.hash_token`` make and hash bearer tokens for ``guahao token create``.
"""
