-- guahao schema, version 11: one vocabulary for the audit log and the events (#11 item 2).
-- An act that is both audited and an outbox event is now audited under the event's topic
-- (booking.create → booking.created …); older audit records are renamed to match, so the
-- console's audit log and its filter find an act under one name whatever its age. A
-- payment was audited as booking.pay whether it confirmed a held booking (event
-- booking.confirmed) or paid a confirmed one (booking.paid): the status it had before
-- tells which. The audit records of acts that have no event keep their names.

UPDATE audit SET action = CASE action
    WHEN 'booking.create' THEN 'booking.created'
    WHEN 'booking.pay' THEN CASE
        WHEN before_state LIKE '%"status":"held"%' THEN 'booking.confirmed'
        ELSE 'booking.paid'
    END
    WHEN 'booking.cancel' THEN 'booking.cancelled'
    WHEN 'booking.move' THEN 'booking.moved'
    WHEN 'booking.check_in' THEN 'booking.checked_in'
    WHEN 'session.create' THEN 'session.created'
    WHEN 'session.stop' THEN 'session.stopped'
    WHEN 'patient.register' THEN 'patient.registered'
    WHEN 'blacklist.add' THEN 'patient.blacklisted'
    WHEN 'blacklist.lift' THEN 'patient.ban_lifted'
    WHEN 'rule.set' THEN 'rule.changed'
    WHEN 'complaint.reply' THEN 'complaint.replied'
END
WHERE action IN (
    'booking.create', 'booking.pay', 'booking.cancel', 'booking.move', 'booking.check_in',
    'session.create', 'session.stop', 'patient.register', 'blacklist.add', 'blacklist.lift',
    'rule.set', 'complaint.reply'
);
