"""HL7 v2 SIU messages over MLLP to a hospital's HIS (HL7 对接): the sender the feeds'
delivery worker calls for a subscription of kind ``hl7``.

``messages`` builds a booking event's SIU message (pure), ``mllp`` keeps one connection
per HIS endpoint and reads its ACKs, ``sender.Hl7Sender`` puts the two together with what
the core knows of the patient. ``docs/hl7.md`` is the field map.

The other way, ``inbound.Hl7Inbound`` is the MLLP listener for the HIS's own S14 and S15
(checked in, paid, cancelled at the window), read by ``inbound_messages``.
"""
