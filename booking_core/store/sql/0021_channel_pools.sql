-- Channel pools with staged release (号源池、分时放号), issue 15.
-- A session's places per pool, made at its first booking under the hospital's channel_pools
-- rule: the guarded counter of each (booked < capacity, like a slot's), and when its free
-- places went to the public pool (rolled_at; the capacity then shrank to what it had booked).
CREATE TABLE session_pools (
    id {ID},
    session_id {BIGINT} NOT NULL REFERENCES sessions (id),
    pool TEXT NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity >= 0),
    booked INTEGER NOT NULL DEFAULT 0 CHECK (booked >= 0),
    rolled_at {BIGINT},
    updated_at {BIGINT} NOT NULL
);
CREATE UNIQUE INDEX session_pools_pool ON session_pools (session_id, pool);

-- The pool a booking took its place from (NULL: the session has no pools, or the booking is
-- older than them): a cancellation gives the place back to it.
ALTER TABLE bookings ADD COLUMN pool TEXT;
