-- guahao schema, version 18: patients told apart and found by pinyin (#14).
-- patients.name_keys: the pinyin-initial keys the desk searches by (拼音码), each after a
--   space: 张三 → ' zs zhangs' (booking_core/patients/names.py). Names are kept in clear
--   already, and the keys say no more than the name.
-- patients.birth_year: from the resident ID number (digits 7-10), shown beside the masked
--   name with the sex (which the ID's last 4, kept in clear, already tell) so that two
--   patients of one family are told apart; the ID number itself stays encrypted.
-- Rows from before this version have NULL keys: SQL cannot read pinyin nor decrypt an ID
-- number, so the engine's "patient-keys" worker fills them (FillPatientKeys), a batch at a
-- time, on start; a patient registered from now on has them at once.
ALTER TABLE patients ADD COLUMN name_keys TEXT;
ALTER TABLE patients ADD COLUMN birth_year INTEGER;
CREATE INDEX patients_keys_unfilled ON patients (id) WHERE name_keys IS NULL;
