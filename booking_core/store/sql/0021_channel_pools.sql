-- reserved for issue 15 (channel_pools): filled by its branch
SELECT 1;
