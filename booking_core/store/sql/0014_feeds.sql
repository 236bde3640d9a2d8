-- guahao schema, version 14: feeds to hospital systems (HIS 对接, #13).
-- feed_subscriptions: a hospital's receiving ends: a webhook URL (signed as Standard Webhooks
-- say) or an HL7 v2 MLLP endpoint. topics: a JSON list (empty: every topic). The signing
-- secret is kept encrypted (the PII key, context "webhook_secret"); after a rotation the
-- previous one is kept until previous_secret_until, and both signatures are sent till then.
-- feed_deliveries: one event on its way to one subscription, fanned out from the outbox by
-- the consumer "feeds" in the event's order. aggregate orders them: one aggregate's
-- deliveries to one subscription leave one at a time, oldest first. first_due_at starts the
-- 3-day window after which a failing delivery is dead (a redelivery starts it again).
-- feed_attempts: the delivery log, kept 30 days.

CREATE TABLE feed_subscriptions (
    id {ID},
    hospital_id {BIGINT} NOT NULL REFERENCES hospitals (id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    topics TEXT NOT NULL DEFAULT '[]',
    options TEXT NOT NULL DEFAULT '{}',
    active INTEGER NOT NULL DEFAULT 1,
    secret TEXT,
    previous_secret TEXT,
    previous_secret_until {BIGINT},
    secret_rotated_at {BIGINT},
    created_at {BIGINT} NOT NULL,
    updated_at {BIGINT} NOT NULL
);
CREATE INDEX feed_subscriptions_hospital ON feed_subscriptions (hospital_id);

CREATE TABLE feed_deliveries (
    id {ID},
    subscription_id {BIGINT} NOT NULL REFERENCES feed_subscriptions (id),
    event_id {BIGINT} NOT NULL,
    topic TEXT NOT NULL,
    aggregate TEXT NOT NULL,
    payload TEXT NOT NULL,
    hospital_id {BIGINT},
    event_at {BIGINT} NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at {BIGINT} NOT NULL,
    first_due_at {BIGINT} NOT NULL,
    lease_until {BIGINT} NOT NULL DEFAULT 0,
    last_status INTEGER,
    last_error TEXT NOT NULL DEFAULT '',
    done_at {BIGINT}
);
CREATE UNIQUE INDEX feed_deliveries_event ON feed_deliveries (subscription_id, event_id);
CREATE INDEX feed_deliveries_due ON feed_deliveries (subscription_id, status, due_at);
CREATE INDEX feed_deliveries_order ON feed_deliveries (subscription_id, aggregate, status, id);

CREATE TABLE feed_attempts (
    id {ID},
    delivery_id {BIGINT} NOT NULL REFERENCES feed_deliveries (id),
    subscription_id {BIGINT} NOT NULL,
    attempt INTEGER NOT NULL,
    at {BIGINT} NOT NULL,
    outcome TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX feed_attempts_delivery ON feed_attempts (delivery_id, attempt);
CREATE INDEX feed_attempts_at ON feed_attempts (at);
