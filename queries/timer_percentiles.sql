-- Percentiles of the timers: for each percentile, the request (TR), connect (Tc),
-- response (Tr) and data times under which that share of requests fell (halog -pct).
--
-- Requests count when all five timers were set (with logasap the last one counts as
-- set, as 0). Rows are halog's 72 steps: 0.1 to 2.0%, 3 to 9%, 10 to 90% by 5, 91 to
-- 98%, 98.1 to 100%. `lines` is the number of requests at or under the percentile,
-- trunc(n * step / 1000); each timer column is independently the `lines`-th smallest
-- value (the smallest when lines is 0). data_time = Ta (or Tt) - TR - Tw - Tc - Tr, which
-- can be negative. No row when no request had every timer.
WITH counted AS (
    SELECT
        COALESCE(request_ms, request_total_ms) AS req_time,
        connect_ms AS conn_time,
        response_ms AS resp_time,
        CASE WHEN logasap IS TRUE THEN 0 ELSE COALESCE(active_ms, total_ms) END
          - COALESCE(request_ms, request_total_ms) - queue_ms - connect_ms - response_ms AS data_time
    FROM logs
    WHERE status IS NOT NULL
      AND COALESCE(request_ms, request_total_ms) IS NOT NULL
      AND queue_ms IS NOT NULL
      AND connect_ms IS NOT NULL
      AND response_ms IS NOT NULL
      AND (logasap IS TRUE OR COALESCE(active_ms, total_ms) IS NOT NULL)
),
sorted AS (
    SELECT
        count(*) AS n,
        array_agg(req_time ORDER BY req_time) AS req_sorted,
        array_agg(conn_time ORDER BY conn_time) AS conn_sorted,
        array_agg(resp_time ORDER BY resp_time) AS resp_sorted,
        array_agg(data_time ORDER BY data_time) AS data_sorted
    FROM counted
),
steps AS (
    SELECT step
    FROM (SELECT unnest(generate_series(1, 1000)) AS step) AS s
    WHERE step <= 20 OR step >= 980 OR step % 50 = 0 OR (step % 10 = 0 AND (step <= 100 OR step >= 900))
),
thresholds AS (
    SELECT
        step,
        CAST(trunc(CAST(n AS DOUBLE) * (CAST(step AS DOUBLE) / 1000.0)) AS BIGINT) AS lines,
        sorted.*
    FROM steps CROSS JOIN sorted
    WHERE n > 0
)
SELECT
    CAST(CAST(step AS DOUBLE) / 10.0 AS DECIMAL(4, 1)) AS percentile,
    lines,
    req_sorted[GREATEST(lines, 1)] AS req_time,
    conn_sorted[GREATEST(lines, 1)] AS conn_time,
    resp_sorted[GREATEST(lines, 1)] AS resp_time,
    data_sorted[GREATEST(lines, 1)] AS data_time
FROM thresholds
ORDER BY step
