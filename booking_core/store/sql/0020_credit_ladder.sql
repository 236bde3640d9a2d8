-- guahao schema, version 20: the credit ladder (信用) and appeals (申诉), issue 15.
--
-- credit_strikes: one row per strike a patient earned (a no-show, the Nth same-day
-- cancellation 当日退号, the Nth cancellation within a few days 频繁退号). ``at`` is the
-- instant it counts from in the rolling period (a no-show: its session's end; a
-- cancellation: when it was cancelled). ``step`` is the strike's number within the period
-- when it was given, ``action`` what the ladder did (warning or ban), ``ban_id`` the ban.
-- One strike per booking and kind: a sweep run twice never counts a booking twice.
CREATE TABLE credit_strikes (
    id {ID},
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    patient_id {BIGINT} NOT NULL REFERENCES patients (id),
    kind TEXT NOT NULL,
    booking_id {BIGINT} REFERENCES bookings (id),
    at {BIGINT} NOT NULL,
    step INTEGER NOT NULL,
    action TEXT NOT NULL,
    ban_id {BIGINT} REFERENCES blacklist (id),
    created_at {BIGINT} NOT NULL
);
CREATE INDEX credit_strikes_patient ON credit_strikes (patient_id, at);
CREATE UNIQUE INDEX credit_strikes_booking ON credit_strikes (booking_id, kind);

-- credit_cancels: each cancellation by the patient while the ladder is on, counted towards
-- the next cancellation strike (same_day: on the clinic day itself, 当日退号) until a strike
-- consumes it (consumed_by: that strike). A cancellation counts towards one strike only.
CREATE TABLE credit_cancels (
    id {ID},
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    patient_id {BIGINT} NOT NULL REFERENCES patients (id),
    booking_id {BIGINT} NOT NULL REFERENCES bookings (id),
    at {BIGINT} NOT NULL,
    same_day INTEGER NOT NULL,
    consumed_by {BIGINT} REFERENCES credit_strikes (id)
);
CREATE INDEX credit_cancels_patient ON credit_cancels (patient_id, consumed_by, at);

-- appeals: a patient's appeal against a ban (申诉), filed by text or at the desk, decided
-- by an administrator (granted: the ban is lifted; rejected: with the answer). At most
-- one open appeal per ban.
CREATE TABLE appeals (
    id {ID},
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    ban_id {BIGINT} NOT NULL REFERENCES blacklist (id),
    patient_id {BIGINT} NOT NULL REFERENCES patients (id),
    reason TEXT NOT NULL,
    channel TEXT NOT NULL,
    filed_by TEXT NOT NULL,
    filed_at {BIGINT} NOT NULL,
    status TEXT NOT NULL,
    decided_at {BIGINT},
    decided_by TEXT,
    answer TEXT
);
CREATE UNIQUE INDEX appeals_open_ban ON appeals (ban_id) WHERE status = 'open';
CREATE INDEX appeals_status ON appeals (status, filed_at);
CREATE INDEX appeals_patient ON appeals (patient_id, filed_at);

-- The ladder supersedes the fixed no-show ban (no_show_blacklist + blacklist_ban_days) and
-- is on by default. A platform or a hospital that had set its own fixed no-show rule keeps
-- it: a switched-off ladder record of the same scope and priority, which makes the fixed
-- rule the one in force there until an administrator switches the ladder on.
INSERT INTO rules (key, value, enabled, priority, hospital_id, period_type, period_value,
    updated_at)
SELECT 'credit_ladder', '[0, 30, 90]', 0, priority, hospital_id, 'days', 365, updated_at
FROM rules WHERE key = 'no_show_blacklist';
