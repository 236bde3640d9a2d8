-- guahao schema, version 2: phone calls and complaints (来电记录、投诉).
-- A call's front-door state is an opaque JSON text kept by the door that owns the call;
-- the core keeps who called, what came of it (booked, cancelled, transferred) and the
-- answers already given to each step, so a replayed webhook acts once.

CREATE TABLE calls (
    id {ID},
    call_sid TEXT NOT NULL,
    hospital_id {BIGINT} REFERENCES hospitals (id),
    channel TEXT NOT NULL,
    caller_enc TEXT,
    caller_index TEXT,
    caller_masked TEXT NOT NULL DEFAULT '',
    called TEXT NOT NULL DEFAULT '',
    patient_id {BIGINT} REFERENCES patients (id),
    seq INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    booked INTEGER NOT NULL DEFAULT 0,
    cancelled INTEGER NOT NULL DEFAULT 0,
    complaints INTEGER NOT NULL DEFAULT 0,
    transfer_context TEXT,
    transferred_at {BIGINT},
    started_at {BIGINT} NOT NULL,
    updated_at {BIGINT} NOT NULL,
    ended_at {BIGINT},
    duration_seconds INTEGER,
    end_status TEXT,
    result TEXT
);
CREATE UNIQUE INDEX calls_call_sid ON calls (call_sid);
CREATE INDEX calls_hospital_started ON calls (hospital_id, started_at);
CREATE INDEX calls_transferred ON calls (hospital_id, transferred_at);

CREATE TABLE call_steps (
    call_sid TEXT NOT NULL,
    step INTEGER NOT NULL,
    digits TEXT NOT NULL,
    response TEXT,
    created_at {BIGINT} NOT NULL
);
CREATE UNIQUE INDEX call_steps_key ON call_steps (call_sid, step, digits);

CREATE TABLE complaints (
    id {ID},
    tracking_no TEXT NOT NULL,
    hospital_id {BIGINT} REFERENCES hospitals (id),
    channel TEXT NOT NULL,
    call_sid TEXT,
    caller_enc TEXT,
    caller_masked TEXT NOT NULL DEFAULT '',
    patient_id {BIGINT} REFERENCES patients (id),
    status TEXT NOT NULL,
    recording_sid TEXT,
    recording_url TEXT,
    recording_seconds INTEGER,
    resolution TEXT,
    created_at {BIGINT} NOT NULL,
    updated_at {BIGINT} NOT NULL
);
CREATE UNIQUE INDEX complaints_tracking_no ON complaints (tracking_no);
CREATE INDEX complaints_call ON complaints (call_sid);
CREATE INDEX complaints_hospital ON complaints (hospital_id, created_at);
