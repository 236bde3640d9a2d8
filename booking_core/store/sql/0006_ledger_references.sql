-- guahao schema, version 6: a money movement with a reference moves money once (#9 item 8).
-- One ledger row per (hospital, kind, reference): a top-up, a payment or a refund sent again
-- under its reference is answered as already applied. Rows already written twice under one
-- reference keep their amounts (the ledger is history), but each later one gets its
-- reference marked "#duplicate-<id>", so the index can be built and reconciliation finds them.
-- Rows without a reference (NULL) are not constrained.

UPDATE ledger SET reference = reference || '#duplicate-' || CAST(id AS TEXT)
WHERE reference IS NOT NULL
  AND EXISTS (
    SELECT 1 FROM ledger earlier
    WHERE earlier.hospital_id = ledger.hospital_id
      AND earlier.kind = ledger.kind
      AND earlier.reference = ledger.reference
      AND earlier.id < ledger.id
  );

CREATE UNIQUE INDEX ledger_reference ON ledger (hospital_id, kind, reference);
