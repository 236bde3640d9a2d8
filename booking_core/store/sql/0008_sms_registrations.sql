-- guahao schema, version 8: how many times a phone tried to register a patient by text
-- (ZC) on a local day, so a stranger cannot try ID numbers (or squat them) at will: the
-- rule sms_registrations_per_day (default 3) caps it. Only the phone's blind index is
-- kept; old days are of no use and may be deleted.

CREATE TABLE sms_registrations (
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    phone_index TEXT NOT NULL,
    day TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    PRIMARY KEY (hospital_id, phone_index, day)
);
