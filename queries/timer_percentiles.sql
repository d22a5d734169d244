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
-- Every timer's distribution in one pass over the logs: (timer, value, count), then
-- running totals, and for each step the smallest value whose running total reaches it.
-- Each request meets the four timer numbers in a cross join, which builds its first
-- side: the four numbers, not the logs (and no per-row arrays, as unnest would need).
distribution AS (
    SELECT timer, value, count(*) AS c
    FROM (
        SELECT
            timer,
            CASE timer WHEN 1 THEN req_time WHEN 2 THEN conn_time WHEN 3 THEN resp_time ELSE data_time END AS value
        FROM (VALUES (1), (2), (3), (4)) AS timers(timer)
        CROSS JOIN counted
    ) AS long
    GROUP BY timer, value
),
cumulative AS (
    SELECT
        timer,
        value,
        sum(c) OVER (PARTITION BY timer ORDER BY value) AS running,
        sum(c) OVER (PARTITION BY timer) AS n
    FROM distribution
),
steps AS (
    SELECT step
    FROM (SELECT unnest(generate_series(1, 1000)) AS step) AS s
    WHERE step <= 20 OR step >= 980 OR step % 50 = 0 OR (step % 10 = 0 AND (step <= 100 OR step >= 900))
),
picked AS (
    SELECT
        steps.step,
        cumulative.timer,
        CAST(trunc(CAST(cumulative.n AS DOUBLE) * (CAST(steps.step AS DOUBLE) / 1000.0)) AS BIGINT) AS lines,
        min(cumulative.value) AS value
    FROM steps
    JOIN cumulative
      ON cumulative.running
         >= greatest(CAST(trunc(CAST(cumulative.n AS DOUBLE) * (CAST(steps.step AS DOUBLE) / 1000.0)) AS BIGINT), 1)
    GROUP BY 1, 2, 3
)
SELECT
    CAST(CAST(step AS DOUBLE) / 10.0 AS DECIMAL(4, 1)) AS percentile,
    max(lines) AS lines,
    max(value) FILTER (WHERE timer = 1) AS req_time,
    max(value) FILTER (WHERE timer = 2) AS conn_time,
    max(value) FILTER (WHERE timer = 3) AS resp_time,
    max(value) FILTER (WHERE timer = 4) AS data_time
FROM picked
GROUP BY step
ORDER BY step
