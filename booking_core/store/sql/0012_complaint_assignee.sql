-- guahao schema, version 12: a complaint's assignee (投诉处理人) in a column.
-- Before this version the operator a complaint was given to was read back from the
-- complaint's latest complaint.assign audit row, so the purge of old audit rows took it
-- away. The audit row stays the record of who gave it to whom and when; the column is the
-- current state. Complaints assigned before this version get it from those audit rows.

ALTER TABLE complaints ADD COLUMN assignee TEXT;

UPDATE complaints SET assignee = (
    SELECT {JSON_TEXT a.after_state assignee} FROM audit a
    WHERE a.entity = 'complaint' AND a.entity_id = complaints.tracking_no
    AND a.action = 'complaint.assign'
    ORDER BY a.id DESC LIMIT 1
);
