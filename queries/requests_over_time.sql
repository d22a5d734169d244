-- HTTP requests over time by status class: one row per time bucket with the 1xx to 5xx
-- counts (the dashboard's first chart). The bucket is an hour here; `report --html`
-- sets it from the time span, or from --bucket.
-- Buckets by date_bin: the times are UTC, where it equals date_trunc at a fifth of
-- its cost (DataFusion's date_trunc goes through the calendar for every row).
-- Counted per bucket and status first, then folded into classes: six filtered counts
-- over every row cost twice as much.
SELECT
    bucket,
    coalesce(sum(n) FILTER (WHERE status BETWEEN 100 AND 199), 0) AS s1xx,
    coalesce(sum(n) FILTER (WHERE status BETWEEN 200 AND 299), 0) AS s2xx,
    coalesce(sum(n) FILTER (WHERE status BETWEEN 300 AND 399), 0) AS s3xx,
    coalesce(sum(n) FILTER (WHERE status BETWEEN 400 AND 499), 0) AS s4xx,
    coalesce(sum(n) FILTER (WHERE status BETWEEN 500 AND 599), 0) AS s5xx,
    coalesce(sum(n) FILTER (WHERE status < 100 OR status > 599), 0) AS other
FROM (
    SELECT
        date_bin(INTERVAL '1 hour', coalesce(request_time, accept_time)) AS bucket,
        status,
        count(*) AS n
    FROM logs
    WHERE status IS NOT NULL AND (request_time IS NOT NULL OR accept_time IS NOT NULL)
    GROUP BY 1, 2
)
GROUP BY 1
ORDER BY 1
