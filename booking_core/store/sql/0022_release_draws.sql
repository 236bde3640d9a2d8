-- Fair admission at release (公平放号, issue 15): requests for a session's places that
-- arrive within the first N seconds after its release (or after a wave of expired holds
-- freed places) are kept here and served in random order when the window closes.

-- One release draw (放号抽签) of a session: the window [opens_at, draw_at), drawn once.
-- wave: 'release' (the day's release instant) or 'freed' (expired holds freed places).
CREATE TABLE release_draws (
    id {ID},
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    session_id {BIGINT} NOT NULL REFERENCES sessions (id),
    wave TEXT NOT NULL,
    opens_at {BIGINT} NOT NULL,
    draw_at {BIGINT} NOT NULL,
    drawn_at {BIGINT},
    requests INTEGER NOT NULL DEFAULT 0,
    booked INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX release_draws_session_draw ON release_draws (session_id, draw_at);
CREATE INDEX release_draws_due ON release_draws (draw_at) WHERE drawn_at IS NULL;

-- One queued request (排队请求) of a patient in a draw: the patient asks once per draw.
-- status: queued → booked | refused (refusal: the error code, params its JSON).
CREATE TABLE release_requests (
    id {ID},
    draw_id {BIGINT} NOT NULL REFERENCES release_draws (id),
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    session_id {BIGINT} NOT NULL REFERENCES sessions (id),
    slot_id {BIGINT} NOT NULL REFERENCES slots (id),
    patient_id {BIGINT} NOT NULL REFERENCES patients (id),
    channel TEXT NOT NULL,
    actor TEXT NOT NULL,
    hold INTEGER NOT NULL DEFAULT 0,
    booker_phone_index TEXT,
    booker_phone_enc TEXT,
    arrived_at {BIGINT} NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    draw_rank INTEGER,
    booking_no TEXT,
    refusal TEXT,
    refusal_params TEXT,
    decided_at {BIGINT}
);
CREATE UNIQUE INDEX release_requests_once ON release_requests (draw_id, patient_id);
CREATE INDEX release_requests_draw ON release_requests (draw_id, status);
CREATE INDEX release_requests_phone ON release_requests (booker_phone_index, arrived_at);
CREATE INDEX release_requests_patient ON release_requests (patient_id, status);
