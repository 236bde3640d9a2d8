-- reserved for issue 15 (eligibility_calendar): filled by its branch
SELECT 1;
