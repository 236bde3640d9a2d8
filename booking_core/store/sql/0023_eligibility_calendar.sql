-- guahao schema, version 23: the hospital's own calendar (节假日表, #15).
-- calendar_days: a clinic day a hospital closed (is_open 0: 院内停诊日) or opened
--   whatever the national calendar says (is_open 1: a holiday clinic, a 调休 day the
--   package does not know yet). Its entries override the chinese-calendar package that
--   the closed_days rule reads (booking_core/rules/calendar.py); they are read with the
--   hospital's rules, so a booking's day and the release time (放号, which skips closed
--   days) see them. Edited on the console's calendar page, each change audited.
-- Eligibility (就诊资格) and late payment (超时支付) are rule records and need no table:
--   a patient's birth date and sex come from the ID number (its birth date stays
--   encrypted with it; only the birth year is kept in clear, version 18).
CREATE TABLE calendar_days (
    id {ID},
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    day TEXT NOT NULL,
    is_open INTEGER NOT NULL CHECK (is_open IN (0, 1)),
    note TEXT NOT NULL DEFAULT '',
    updated_at {BIGINT} NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE UNIQUE INDEX calendar_days_day ON calendar_days (hospital_id, day);
