SELECT 1;
delimiterx $$
SELECT 2$$
