-- guahao schema, version 5: what an outgoing text says, kept apart from what the log shows.
-- ``body`` is the log's copy (ID numbers reduced to their last 4 characters). When that
-- redaction changed the text, the words the patient must read are kept encrypted (like
-- phones) in ``body_enc`` until the gateway took them or we gave up, then forgotten.

ALTER TABLE messages ADD COLUMN body_enc TEXT;
