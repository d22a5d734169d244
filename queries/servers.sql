-- Per server: requests by status class, requests with every timer, their share, and the
-- average connect and response times (halog -srv).
--
-- srv_name  backend/server, in byte order.
-- 1xx..5xx  requests by the first digit of the status; other: anything else (-1...).
-- req_ok    requests whose five timers (TR or Tq, Tw, Tc, Tr, Ta or Tt) were all set,
--           whatever the status (with logasap the last timer counts as set).
-- pct_ok    req_ok * 100 / tot_req, rounded to one decimal as C's printf("%.1f") rounds
--           (ties to even on the exact double): computed in integers below, since SQL's
--           round() rounds ties away from zero.
-- avg_ct    mean Tc over the requests that have one, truncated to an integer.
-- avg_rt    mean Tr over the requests that have one, truncated to an integer.
-- Only HTTP requests count. (halog also lists the server field of lines it cannot parse,
-- with zeros: TCP sessions, and the first word of connection-error messages.)
-- Counted per server and status first (a few hundred groups), then folded per server:
-- the filtered counts by status class over every row cost more.
WITH http AS (
    SELECT
        backend,
        server,
        status,
        count(*) AS n,
        -- A filtered count rather than one more grouping column, and IS NOT NULL on
        -- each column rather than COALESCE: null masks are read, no array is built.
        count(*) FILTER (WHERE (request_ms IS NOT NULL OR request_total_ms IS NOT NULL)
          AND queue_ms IS NOT NULL
          AND connect_ms IS NOT NULL
          AND response_ms IS NOT NULL
          AND (logasap IS TRUE OR active_ms IS NOT NULL OR total_ms IS NOT NULL)) AS timers_set,
        sum(connect_ms) AS connect_sum,
        count(connect_ms) AS connects,
        sum(response_ms) AS response_sum,
        count(response_ms) AS responses
    FROM logs
    WHERE status IS NOT NULL
    GROUP BY 1, 2, 3
),
-- The first digit of the status as printed, in integer arithmetic.
classed AS (
    SELECT *,
        CASE
            WHEN status >= 10000 THEN status / 10000
            WHEN status >= 1000 THEN status / 1000
            WHEN status >= 100 THEN status / 100
            WHEN status >= 10 THEN status / 10
            WHEN status >= 1 THEN status
            ELSE 0
        END AS first_digit
    FROM http
),
-- Grouped by the two name columns as they are stored (dictionaries); joined into
-- srv_name once per server, not once per row.
agg AS (
    SELECT
        CAST(backend AS VARCHAR) || '/' || CAST(server AS VARCHAR) AS srv_name,
        coalesce(sum(n) FILTER (WHERE first_digit = 1), 0) AS c1xx,
        coalesce(sum(n) FILTER (WHERE first_digit = 2), 0) AS c2xx,
        coalesce(sum(n) FILTER (WHERE first_digit = 3), 0) AS c3xx,
        coalesce(sum(n) FILTER (WHERE first_digit = 4), 0) AS c4xx,
        coalesce(sum(n) FILTER (WHERE first_digit = 5), 0) AS c5xx,
        coalesce(sum(n) FILTER (WHERE first_digit NOT BETWEEN 1 AND 5), 0) AS other,
        sum(n) AS tot_req,
        sum(timers_set) AS req_ok,
        COALESCE(sum(connect_sum) / NULLIF(sum(connects), 0), 0) AS avg_ct,
        COALESCE(sum(response_sum) / NULLIF(sum(responses), 0), 0) AS avg_rt
    FROM classed
    GROUP BY backend, server
),
pct AS (
    -- q = floor(1000*req_ok / d), r = remainder: the exact value in tenths is q + r/d.
    SELECT *,
           (1000 * req_ok) / GREATEST(tot_req, 1) AS q,
           (1000 * req_ok) % GREATEST(tot_req, 1) AS r,
           GREATEST(tot_req, 1) AS d
    FROM agg
),
rounded AS (
    SELECT *,
        CASE
            WHEN 2 * r < d THEN q
            WHEN 2 * r > d THEN q + 1
            -- exactly half-way: printf sees the double nearest to (2q+1)/20.
            -- It is exact when 5 divides 2q+1 (x.25, x.75): ties to even.
            WHEN (2 * q + 1) % 5 = 0 THEN q + q % 2
            -- Otherwise the double is above or below (2q+1)/20: it is above when the 53-bit
            -- rounding of (2q+1)*2^k/20 (k = 52 - floor(log2 v)) goes up, i.e. when
            -- ((2q+1) mod 5) * (2^(k-2) mod 5) mod 5 is 3 or 4. Only reachable when tot_req is a
            -- multiple of 2000.
            WHEN ((2 * q + 1) % 5)
                 * CASE (50 - CAST(floor(log2((2 * q + 1) / 20.0)) AS BIGINT)) % 4
                       WHEN 0 THEN 1 WHEN 1 THEN 2 WHEN 2 THEN 4 ELSE 3 END
                 % 5 IN (3, 4) THEN q + 1
            ELSE q
        END AS pct_ok_tenths
    FROM pct
)
SELECT
    srv_name,
    c1xx AS "1xx", c2xx AS "2xx", c3xx AS "3xx", c4xx AS "4xx", c5xx AS "5xx",
    other, tot_req, req_ok,
    CAST(CAST(pct_ok_tenths AS DOUBLE) / 10.0 AS DECIMAL(20, 1)) AS pct_ok,
    avg_ct, avg_rt
FROM rounded
ORDER BY srv_name
