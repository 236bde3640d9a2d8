-- guahao schema, version 7: refused log-in attempts are tallied (#10 item 13).
-- A refused attempt (locked, throttled: its password never checked) no longer adds a row and
-- an audit record each: one row per source, outcome and minute counts them in ``tally``.
-- Every other attempt keeps its own row (tally 1). Attempts are now reserved before their
-- password is checked ("pending" until settled); the index finds a source's pending ones.

ALTER TABLE login_attempts ADD COLUMN tally INTEGER NOT NULL DEFAULT 1;
CREATE INDEX login_attempts_source_outcome ON login_attempts (source, outcome, at);
