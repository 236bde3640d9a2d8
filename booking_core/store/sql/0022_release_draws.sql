-- reserved for issue 15 (release_draws): filled by its branch
SELECT 1;
