-- guahao schema, version 9: what a GSM modem received that nobody can decode. It is
-- taken off the SIM (a full SIM loses the next patient's text) and kept here: the raw
-- PDU encrypted like a phone (it may carry a name or an ID number), a blind index so the
-- same PDU read twice is kept once, and what the decoder said.

CREATE TABLE sms_undecodable (
    id {ID},
    gateway TEXT NOT NULL,
    pdu_index TEXT NOT NULL,
    pdu_enc TEXT NOT NULL,
    error TEXT NOT NULL,
    created_at {BIGINT} NOT NULL
);
CREATE UNIQUE INDEX sms_undecodable_pdu ON sms_undecodable (gateway, pdu_index);
