"""FHIR R4 under ``/fhir/R4``: the hospital's catalogue and slots as FHIR resources, the
IHE Scheduling operations (``Appointment/$find``, ``$hold``, ``$book``, cancel by update)
and the SMART Scheduling Links bulk publication (``$bulk-publish``).

Every resource is built and validated with ``fhir.resources``' **R4B** models
(``fhir.resources.R4B``, FHIR 4.3): the package's strict-R4 line (6.x) is written for
pydantic 1, and this project runs on pydantic 2. R4B keeps R4's shape for every resource
used here (Organization, Location, HealthcareService, Practitioner, PractitionerRole,
Schedule, Slot, Appointment, Bundle, OperationOutcome, Parameters, CapabilityStatement),
so what is served is R4 JSON that an R4 client reads; the CapabilityStatement says 4.0.1.

The engine mounts it with ``root.add_subapp("/fhir/R4/", web.make_app(services, ...))``.
"""
