-- guahao schema, version 13: kiosks in the hospital hall (自助机, #12).
-- kiosks: the registry. The id is the kiosk's MQTT user name (k and 8 hex digits); only the
-- broker password's hash is kept (computed by the door, as an API token's). A disabled kiosk
-- keeps its row (its jobs and the audit name it) and leaves the broker's password file.
-- Its latest status: online (NULL until it first reports), since when, why offline, and the
-- kiosk's own time of that status (to drop an older one delivered late).
-- kiosk_devices: each device's latest state and since when (printer, card_reader, terminal).
-- kiosk_jobs: work for a kiosk's devices, written in the same transaction as the change it
-- belongs to and published from the outbox (kiosk.job_queued); each ends in one ack.
-- bookings.ticket_printed_at: when a kiosk last acked printing the booking's ticket.

CREATE TABLE kiosks (
    id TEXT PRIMARY KEY,
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    name TEXT NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    online INTEGER,
    status_since {BIGINT},
    status_reason TEXT NOT NULL DEFAULT '',
    reported_at {BIGINT},
    created_at {BIGINT} NOT NULL,
    updated_at {BIGINT} NOT NULL,
    disabled_at {BIGINT}
);
-- two kiosks in service never share a name in one hospital (a replacement may take the
-- name of the disabled one it replaces)
CREATE UNIQUE INDEX kiosks_name ON kiosks (hospital_id, name) WHERE disabled_at IS NULL;
CREATE INDEX kiosks_hospital ON kiosks (hospital_id);

CREATE TABLE kiosk_devices (
    kiosk_id TEXT NOT NULL REFERENCES kiosks (id),
    device TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    pending_reversals INTEGER NOT NULL DEFAULT 0,
    since {BIGINT} NOT NULL,
    PRIMARY KEY (kiosk_id, device)
);

CREATE TABLE kiosk_jobs (
    id {ID},
    job_id TEXT NOT NULL,
    kiosk_id TEXT NOT NULL REFERENCES kiosks (id),
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    booking_id {BIGINT} REFERENCES bookings (id),
    patient_id {BIGINT} REFERENCES patients (id),
    purpose TEXT,
    amount INTEGER,
    terminal_ref TEXT,
    of_job TEXT,
    status TEXT NOT NULL DEFAULT 'queued',
    reason TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    detail TEXT,
    result TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at {BIGINT} NOT NULL,
    sent_at {BIGINT},
    acked_at {BIGINT},
    expires_at {BIGINT}
);
CREATE UNIQUE INDEX kiosk_jobs_job_id ON kiosk_jobs (job_id);
CREATE INDEX kiosk_jobs_open ON kiosk_jobs (kiosk_id, id) WHERE status IN ('queued', 'sent');
CREATE INDEX kiosk_jobs_kiosk ON kiosk_jobs (kiosk_id, created_at);
CREATE INDEX kiosk_jobs_booking ON kiosk_jobs (booking_id);

ALTER TABLE bookings ADD COLUMN ticket_printed_at {BIGINT};
