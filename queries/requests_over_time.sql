-- HTTP requests over time by status class: one row per time bucket with the 1xx to 5xx
-- counts (the dashboard's first chart). The bucket is an hour here; `report --html`
-- sets it from the time span, or from --bucket.
-- Buckets by date_bin: the times are UTC, where it equals date_trunc at a fifth of
-- its cost (DataFusion's date_trunc goes through the calendar for every row).
SELECT
    date_bin(INTERVAL '1 hour', coalesce(request_time, accept_time)) AS bucket,
    count(*) FILTER (WHERE status BETWEEN 100 AND 199) AS s1xx,
    count(*) FILTER (WHERE status BETWEEN 200 AND 299) AS s2xx,
    count(*) FILTER (WHERE status BETWEEN 300 AND 399) AS s3xx,
    count(*) FILTER (WHERE status BETWEEN 400 AND 499) AS s4xx,
    count(*) FILTER (WHERE status BETWEEN 500 AND 599) AS s5xx,
    count(*) FILTER (WHERE status < 100 OR status > 599) AS other
FROM logs
WHERE status IS NOT NULL AND coalesce(request_time, accept_time) IS NOT NULL
GROUP BY 1
ORDER BY 1
