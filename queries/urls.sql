-- Per URL: requests, errors, total and average response times (over all requests, and
-- over the ones without error), and bytes sent, busiest URLs first (halog -u family).
--
-- url       uri_origin (for absolute targets) and path, cut at the first ';' like halog;
--           the query string is left out (halog -query keeps it: add
--           COALESCE('?' || query, '') to the url). <BADREQ> counts as one url.
-- err       requests with a timer unset (-1 in the log).
-- ttot/tavg total and mean of Tr, or of Ta (Tt) when Tr is unset; integer means.
-- oktot     total Tr of the requests that have one; okavg = oktot / (req - err).
-- btot/bavg bytes to the client, total and mean per request (logasap counts 0).
-- Sort as halog's variants do by changing ORDER BY: -uc req, -ue err, -ua tavg,
-- -ut ttot, -uao okavg, -uto oktot, -uba bavg, -ubt btot, each DESC then url DESC.
WITH requests AS (
    SELECT
        CASE WHEN method IS NULL THEN COALESCE(request_line, '<BADREQ>') END AS bad_request,
        uri_origin,
        path,
        -- CASE without ELSE: see servers.sql (a DataFusion 55 nullability check).
        CASE WHEN COALESCE(request_ms, request_total_ms) IS NULL
          OR queue_ms IS NULL OR connect_ms IS NULL OR response_ms IS NULL
          OR (logasap IS NOT TRUE AND COALESCE(active_ms, total_ms) IS NULL) THEN true END AS err,
        response_ms,
        CASE WHEN logasap IS TRUE THEN 0 ELSE COALESCE(active_ms, total_ms, -1) END AS last_timer,
        CASE WHEN logasap IS TRUE THEN 0 ELSE COALESCE(bytes_to_client, 0) END AS bytes
    FROM logs
    WHERE status IS NOT NULL AND (method IS NOT NULL OR request_line IS NOT NULL)
),
-- Totals per target as stored first: the url is built once per distinct target, not
-- once per request.
by_target AS (
    SELECT
        bad_request,
        uri_origin,
        path,
        count(*) AS req,
        count(*) FILTER (WHERE err) AS err,
        sum(COALESCE(response_ms, last_timer)) AS ttot,
        sum(COALESCE(response_ms, 0)) AS oktot,
        sum(bytes) AS btot
    FROM requests
    GROUP BY bad_request, uri_origin, path
),
totals AS (
    SELECT
        CASE
            WHEN bad_request IS NOT NULL THEN bad_request
            ELSE split_part(COALESCE(CAST(uri_origin AS VARCHAR), '') || COALESCE(path, ''), ';', 1)
        END AS url,
        sum(req) AS req,
        sum(err) AS err,
        sum(ttot) AS ttot,
        sum(oktot) AS oktot,
        sum(btot) AS btot
    FROM by_target
    GROUP BY 1
)
SELECT
    req,
    err,
    ttot,
    ttot / req AS tavg,
    oktot,
    CASE WHEN req > err THEN oktot / (req - err) ELSE 0 END AS okavg,
    btot / req AS bavg,
    btot,
    url
FROM totals
ORDER BY req DESC, url DESC
