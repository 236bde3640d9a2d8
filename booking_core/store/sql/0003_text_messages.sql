-- guahao schema, version 3: text messages (短信) in and out, opt-outs, reminders, surveys.
-- Every message through any gateway is kept: direction, gateway, phone (encrypted, with a
-- blind index and a masked copy), body (ID numbers masked), status, attempts, booking.

CREATE TABLE messages (
    id {ID},
    direction TEXT NOT NULL,
    gateway TEXT NOT NULL,
    hospital_id {BIGINT} REFERENCES hospitals (id),
    idem_key TEXT NOT NULL,
    provider_id TEXT,
    phone_enc TEXT NOT NULL,
    phone_index TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    body TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    parts INTEGER NOT NULL DEFAULT 1,
    booking_no TEXT,
    event_id {BIGINT},
    reply_to {BIGINT},
    reply TEXT,
    error TEXT,
    available_at {BIGINT} NOT NULL DEFAULT 0,
    lease_until {BIGINT} NOT NULL DEFAULT 0,
    sending_since {BIGINT},
    created_at {BIGINT} NOT NULL,
    updated_at {BIGINT} NOT NULL
);
CREATE UNIQUE INDEX messages_key ON messages (direction, idem_key);
CREATE INDEX messages_pending ON messages (gateway, available_at)
    WHERE status IN ('queued', 'sending');
CREATE INDEX messages_provider ON messages (gateway, provider_id);
CREATE INDEX messages_phone ON messages (phone_index, created_at);
CREATE INDEX messages_booking ON messages (booking_no);

CREATE TABLE sms_opt_outs (
    phone_index TEXT NOT NULL PRIMARY KEY,
    opted_out_at {BIGINT} NOT NULL
);

CREATE TABLE reminders (
    booking_id {BIGINT} NOT NULL PRIMARY KEY REFERENCES bookings (id),
    created_at {BIGINT} NOT NULL
);

CREATE TABLE surveys (
    booking_id {BIGINT} NOT NULL PRIMARY KEY REFERENCES bookings (id),
    hospital_id {BIGINT} REFERENCES hospitals (id),
    phone_index TEXT NOT NULL,
    sent_at {BIGINT} NOT NULL,
    score INTEGER,
    answered_at {BIGINT}
);
CREATE INDEX surveys_phone ON surveys (phone_index, sent_at);
