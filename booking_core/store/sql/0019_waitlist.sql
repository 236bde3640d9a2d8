-- reserved for issue 15 (waitlist): filled by its branch
SELECT 1;
