-- guahao schema, version 1. Portable SQL for SQLite and PostgreSQL.
-- Tokens replaced per dialect: {ID} {ID_MONOTONIC} {BIGINT}.
-- Instants are UTC epoch seconds; clinic days 'YYYY-MM-DD' and clock times 'HH:MM'
-- are hospital-local text; money is integer fen. Every uniqueness is a named
-- CREATE UNIQUE INDEX so both drivers report the same constraint name.

CREATE TABLE hospitals (
    id {ID},
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    created_at {BIGINT} NOT NULL,
    updated_at {BIGINT} NOT NULL
);
CREATE UNIQUE INDEX hospitals_code ON hospitals (code);

CREATE TABLE departments (
    id {ID},
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    aliases TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1,
    updated_at {BIGINT} NOT NULL
);
CREATE UNIQUE INDEX departments_code ON departments (hospital_id, code);

CREATE TABLE doctors (
    id {ID},
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    department_id {BIGINT} NOT NULL REFERENCES departments (id),
    work_no TEXT NOT NULL,
    name TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    specialty TEXT NOT NULL DEFAULT '',
    fee INTEGER NOT NULL CHECK (fee >= 0),
    active INTEGER NOT NULL DEFAULT 1,
    updated_at {BIGINT} NOT NULL
);
CREATE UNIQUE INDEX doctors_work_no ON doctors (hospital_id, work_no);

CREATE TABLE sessions (
    id {ID},
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    department_id {BIGINT} NOT NULL REFERENCES departments (id),
    doctor_id {BIGINT} NOT NULL REFERENCES doctors (id),
    day TEXT NOT NULL,
    period TEXT NOT NULL,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    starts_at {BIGINT} NOT NULL,
    ends_at {BIGINT} NOT NULL,
    room TEXT NOT NULL DEFAULT '',
    fee INTEGER NOT NULL CHECK (fee >= 0),
    status TEXT NOT NULL DEFAULT 'open',
    last_queue_no INTEGER NOT NULL DEFAULT 0,
    stop_reason TEXT,
    created_at {BIGINT} NOT NULL
);
CREATE UNIQUE INDEX sessions_doctor_period ON sessions (doctor_id, day, period);
CREATE INDEX sessions_hospital_day ON sessions (hospital_id, day);
CREATE INDEX sessions_ends_at ON sessions (ends_at);

CREATE TABLE slots (
    id {ID},
    session_id {BIGINT} NOT NULL REFERENCES sessions (id),
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    starts_at {BIGINT} NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity >= 0),
    booked INTEGER NOT NULL DEFAULT 0 CHECK (booked >= 0)
);
CREATE INDEX slots_session ON slots (session_id, start_time);

CREATE TABLE patients (
    id {ID},
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    name TEXT NOT NULL,
    card_no TEXT NOT NULL,
    id_number_enc TEXT,
    id_index TEXT,
    id_last4 TEXT NOT NULL DEFAULT '',
    phone_enc TEXT,
    phone_index TEXT,
    phone_masked TEXT NOT NULL DEFAULT '',
    balance INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
    sms_opt_out INTEGER NOT NULL DEFAULT 0,
    created_at {BIGINT} NOT NULL,
    updated_at {BIGINT} NOT NULL
);
CREATE UNIQUE INDEX patients_card_no ON patients (hospital_id, card_no);
CREATE UNIQUE INDEX patients_id_index ON patients (hospital_id, id_index);
CREATE INDEX patients_phone ON patients (hospital_id, phone_index);
CREATE INDEX patients_name ON patients (hospital_id, name);

CREATE TABLE bookings (
    id {ID},
    booking_no TEXT NOT NULL,
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    department_id {BIGINT} NOT NULL REFERENCES departments (id),
    doctor_id {BIGINT} NOT NULL REFERENCES doctors (id),
    session_id {BIGINT} NOT NULL REFERENCES sessions (id),
    slot_id {BIGINT} NOT NULL REFERENCES slots (id),
    patient_id {BIGINT} NOT NULL REFERENCES patients (id),
    place_no INTEGER NOT NULL,
    day TEXT NOT NULL,
    channel TEXT NOT NULL,
    actor TEXT NOT NULL,
    booker_phone_index TEXT,
    status TEXT NOT NULL,
    fee INTEGER NOT NULL CHECK (fee >= 0),
    paid INTEGER NOT NULL DEFAULT 0 CHECK (paid >= 0),
    pay_method TEXT,
    queue_no INTEGER,
    created_at {BIGINT} NOT NULL,
    updated_at {BIGINT} NOT NULL,
    hold_expires_at {BIGINT},
    checked_in_at {BIGINT},
    cancelled_at {BIGINT},
    cancel_reason TEXT
);
CREATE UNIQUE INDEX bookings_booking_no ON bookings (booking_no);
-- Two patients never share a place, one patient never holds two places of a slot;
-- a cancelled (or no-show, completed) booking blocks nothing.
CREATE UNIQUE INDEX bookings_active_place ON bookings (slot_id, place_no)
    WHERE status IN ('held', 'confirmed', 'checked_in');
CREATE UNIQUE INDEX bookings_active_patient ON bookings (slot_id, patient_id)
    WHERE status IN ('held', 'confirmed', 'checked_in');
CREATE INDEX bookings_patient ON bookings (patient_id, status, day);
CREATE INDEX bookings_phone ON bookings (booker_phone_index, created_at);
CREATE INDEX bookings_session ON bookings (session_id, status);
CREATE INDEX bookings_held ON bookings (hold_expires_at) WHERE status = 'held';
CREATE INDEX bookings_hospital_day ON bookings (hospital_id, day);

CREATE TABLE blacklist (
    id {ID},
    hospital_id {BIGINT} REFERENCES hospitals (id),
    patient_id {BIGINT} NOT NULL REFERENCES patients (id),
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    starts_at {BIGINT} NOT NULL,
    ends_at {BIGINT} NOT NULL,
    created_by TEXT NOT NULL,
    lifted_at {BIGINT},
    lifted_by TEXT
);
CREATE INDEX blacklist_patient ON blacklist (patient_id, ends_at);
CREATE INDEX blacklist_hospital ON blacklist (hospital_id, ends_at);

CREATE TABLE rules (
    id {ID},
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    priority INTEGER NOT NULL DEFAULT 0,
    hospital_id {BIGINT} REFERENCES hospitals (id),
    period_type TEXT,
    period_value INTEGER,
    updated_at {BIGINT} NOT NULL
);
CREATE INDEX rules_key ON rules (key, hospital_id);

CREATE TABLE ledger (
    id {ID},
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    patient_id {BIGINT} NOT NULL REFERENCES patients (id),
    booking_id {BIGINT} REFERENCES bookings (id),
    kind TEXT NOT NULL,
    method TEXT NOT NULL,
    amount INTEGER NOT NULL,
    reference TEXT,
    actor TEXT NOT NULL,
    created_at {BIGINT} NOT NULL
);
CREATE INDEX ledger_hospital_day ON ledger (hospital_id, created_at);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    booking_id {BIGINT} NOT NULL REFERENCES bookings (id),
    created_at {BIGINT} NOT NULL
);
CREATE UNIQUE INDEX idempotency_keys_key ON idempotency_keys (scope, key);

CREATE TABLE outbox (
    id {ID_MONOTONIC},
    topic TEXT NOT NULL,
    hospital_id {BIGINT},
    aggregate TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at {BIGINT} NOT NULL
);

CREATE TABLE outbox_deliveries (
    consumer TEXT NOT NULL,
    event_id {BIGINT} NOT NULL REFERENCES outbox (id),
    attempts INTEGER NOT NULL DEFAULT 0,
    available_at {BIGINT} NOT NULL,
    lease_until {BIGINT} NOT NULL DEFAULT 0,
    done_at {BIGINT},
    last_error TEXT
);
CREATE UNIQUE INDEX outbox_deliveries_key ON outbox_deliveries (consumer, event_id);
CREATE INDEX outbox_deliveries_pending ON outbox_deliveries (consumer, available_at)
    WHERE done_at IS NULL;

CREATE TABLE audit (
    id {ID},
    at {BIGINT} NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    hospital_id {BIGINT},
    before_state TEXT,
    after_state TEXT
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_entity ON audit (entity, entity_id);

CREATE TABLE api_tokens (
    id {ID},
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    hospital_id {BIGINT} REFERENCES hospitals (id),
    token_hash TEXT NOT NULL,
    created_at {BIGINT} NOT NULL,
    revoked_at {BIGINT}
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);

CREATE TABLE operators (
    id {ID},
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    hospital_id {BIGINT} REFERENCES hospitals (id),
    must_change_password INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at {BIGINT} NOT NULL
);
CREATE UNIQUE INDEX operators_username ON operators (username);
