-- Persistence cookie health: how many requests carried each cookie code, the last two
-- characters of the termination state: what the client's cookie said, and what HAProxy
-- did with Set-Cookie (halog -cc).
--
-- One row per code, in byte order. Only the 4-character states of HTTP logs carry them.
SELECT
    substr(termination_state, 3, 2) AS cookie_code,
    count(*) AS requests,
    persistence_cookie(termination_state) AS client_cookie,
    set_cookie_action(termination_state) AS set_cookie
FROM logs
WHERE length(termination_state) = 4
GROUP BY 1, 3, 4
ORDER BY 1
