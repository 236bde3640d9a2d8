-- guahao schema, version 17: call-backs (回拨, #14). A caller waiting for an agent pressed 1
-- to be called back instead of holding: the call keeps its transfer time (its place in the
-- queue) and the number to call, encrypted like every phone (callback_enc), masked for the
-- desk (callback_masked).
-- callback_since: when the call-back (re)entered the queue; null: not a call-back.
-- callback_attempts: tries that did not reach the caller (not answered, busy, failed, or not
-- taken within callback_answer_within_minutes).
-- callback_closed_at / callback_result: reached, or given up (not_reached) with a text.
ALTER TABLE calls ADD COLUMN callback_enc TEXT;
ALTER TABLE calls ADD COLUMN callback_masked TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN callback_since {BIGINT};
ALTER TABLE calls ADD COLUMN callback_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN callback_closed_at {BIGINT};
ALTER TABLE calls ADD COLUMN callback_result TEXT;
CREATE INDEX calls_callbacks_open ON calls (callback_closed_at, callback_since);
