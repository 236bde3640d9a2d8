-- guahao schema, version 19: the waitlist (候补) and extra places (加号), issue 15.
-- A patient waits for a full session (a doctor's half day); arrival order is the entry's id.
-- status: waiting (in line) → offered (a freed place is held for them: offer_booking_id, a
-- held booking until offer_expires_at) → accepted (confirmed or paid) | lapsed (the hold ran
-- out) | declined (the held booking was cancelled); or left (the patient left the line, or
-- booked a place of the session themselves) | closed (the session was stopped, started or
-- closed for booking with the patient still waiting: texted).
-- At most one live entry (waiting or offered) per patient and session.
CREATE TABLE waitlist (
    id {ID_MONOTONIC},
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    session_id {BIGINT} NOT NULL REFERENCES sessions (id),
    department_id {BIGINT} NOT NULL REFERENCES departments (id),
    day TEXT NOT NULL,
    patient_id {BIGINT} NOT NULL REFERENCES patients (id),
    channel TEXT NOT NULL,
    actor TEXT NOT NULL,
    status TEXT NOT NULL,
    joined_at {BIGINT} NOT NULL,
    offer_booking_id {BIGINT} REFERENCES bookings (id),
    offered_at {BIGINT},
    offer_expires_at {BIGINT},
    ended_at {BIGINT},
    end_reason TEXT,
    updated_at {BIGINT} NOT NULL
);
CREATE UNIQUE INDEX waitlist_live_patient ON waitlist (session_id, patient_id)
    WHERE status IN ('waiting', 'offered');
CREATE INDEX waitlist_line ON waitlist (session_id, status, id);
CREATE INDEX waitlist_patient ON waitlist (patient_id, status, day);
CREATE INDEX waitlist_offer ON waitlist (offer_booking_id);
-- 加号: places added to a session beyond its schedule, counted against the per-session
-- maximum (rule extra_places_per_session).
ALTER TABLE sessions ADD COLUMN extra_places INTEGER NOT NULL DEFAULT 0;
