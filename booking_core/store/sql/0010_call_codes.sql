-- guahao schema, version 10: proving a caller may hear or cancel a patient's bookings.
-- call_codes: the 6-digit codes texted to a patient's phone when the call comes from
-- another number (only a keyed hash of the code is kept; the call that asked for it is
-- the only one it opens, and three wrong tries spend it). call_lookups: how many card or
-- ID numbers a caller ID looked up in an hour (rule ivr_lookups_per_hour); only the
-- caller's blind index is kept, old hours are of no use and may be deleted.

CREATE TABLE call_codes (
    id {ID},
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    patient_id {BIGINT} NOT NULL REFERENCES patients (id),
    phone_index TEXT NOT NULL,
    call_sid TEXT NOT NULL,
    code_index TEXT NOT NULL,
    sent_at {BIGINT} NOT NULL,
    expires_at {BIGINT} NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    verified_at {BIGINT}
);
CREATE INDEX call_codes_phone ON call_codes (phone_index, sent_at);
CREATE INDEX call_codes_call ON call_codes (call_sid, patient_id);

CREATE TABLE call_lookups (
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    caller_index TEXT NOT NULL,
    hour {BIGINT} NOT NULL,
    lookups INTEGER NOT NULL,
    PRIMARY KEY (hospital_id, caller_index, hour)
);

-- Steps keyed before this version by what the caller typed (a card or ID number in the
-- clear): the key of any such finished step is replaced (one row per call and step, so it
-- stays unique; a replay of a step that old is answered with where the call is now). Ended
-- calls' door state, which kept the last input typed, is emptied when that input was 15
-- characters or more (no webhook of an ended call needs it).
UPDATE call_steps SET digits = '~old'
WHERE length(digits) >= 6 AND substr(digits, 1, 1) NOT IN ('~', '!');

UPDATE calls SET state = '{}'
WHERE ended_at IS NOT NULL AND state LIKE '%"last_digits":"_______________%';
