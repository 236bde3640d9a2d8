-- guahao schema, version 15: when a slot or a session last changed (#13, SMART Scheduling
-- Links' _since: "only what changed since").
-- slots.updated_at: a place taken or given back (booked), set by the booking core.
-- sessions.updated_at: the session changed (stopped, 停诊); a new session is its created_at.
-- Rows from before this version start at their session's creation.
ALTER TABLE slots ADD COLUMN updated_at {BIGINT} NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN updated_at {BIGINT} NOT NULL DEFAULT 0;
UPDATE sessions SET updated_at = created_at;
UPDATE slots SET updated_at = (SELECT created_at FROM sessions WHERE sessions.id = slots.session_id);
CREATE INDEX slots_updated_at ON slots (updated_at);
CREATE INDEX sessions_updated_at ON sessions (updated_at);
