-- guahao schema, version 4: the agent console's log-in (坐席登录).
-- Operators get a TOTP secret (encrypted like phones), the last TOTP time step used (a code
-- is never accepted twice) and when their password last changed. Every log-in attempt is
-- kept for the lockout and throttle counts (the audit table keeps the record too). Console
-- sessions live here, so any engine process serves any request; only a hash of the cookie
-- is stored.

ALTER TABLE operators ADD COLUMN totp_secret_enc TEXT;
ALTER TABLE operators ADD COLUMN totp_last_step {BIGINT} NOT NULL DEFAULT 0;
ALTER TABLE operators ADD COLUMN password_changed_at {BIGINT};
ALTER TABLE operators ADD COLUMN updated_at {BIGINT} NOT NULL DEFAULT 0;

CREATE TABLE login_attempts (
    id {ID},
    at {BIGINT} NOT NULL,
    username TEXT NOT NULL,
    source TEXT NOT NULL,
    operator_id {BIGINT} REFERENCES operators (id),
    outcome TEXT NOT NULL,
    evaluated INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX login_attempts_username ON login_attempts (username, at);
CREATE INDEX login_attempts_source ON login_attempts (source, at);

CREATE TABLE console_sessions (
    id {ID},
    token_hash TEXT NOT NULL,
    operator_id {BIGINT} NOT NULL REFERENCES operators (id),
    csrf_token TEXT NOT NULL,
    stage TEXT NOT NULL,
    pending_totp_enc TEXT,
    source TEXT NOT NULL,
    created_at {BIGINT} NOT NULL,
    seen_at {BIGINT} NOT NULL,
    expires_at {BIGINT} NOT NULL
);
CREATE UNIQUE INDEX console_sessions_token ON console_sessions (token_hash);
CREATE INDEX console_sessions_operator ON console_sessions (operator_id);
