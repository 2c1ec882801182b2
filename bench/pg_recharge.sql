-- pgbench script for row (d) of bench/run.sh: one recharge per transaction through recharge() of
-- bench/pg_schema.sql. Numbers, operators and amounts as bench/recharge.lua draws them (CNY 50 to
-- 138/139/150/186/133 + "0013" + 4 random digits); the Idempotency-Key is unique per transaction
-- (client id and a random 50-bit number) and the request hash is the SHA-256 of the canonical
-- request, as the HTTP handler computes it. Run with the default simple query protocol.
\set r random(1, 1000000000000000)
\set p random(0, 4)
\set n random(0, 9999)
SELECT recharge('pg-' || :client_id || '-' || :r, '+86' || v.national, 5000, 5000, 'CNY',
                v.op, v.op || '-50', 30, 1, 'clearing:bench',
                sha256(convert_to('POST /v1/recharges' || chr(10)
                                  || '{"amount_minor":5000,"currency":"CNY","msisdn":"'
                                  || v.national || '"}', 'UTF8')))
  FROM (SELECT (ARRAY['1380013', '1390013', '1500013', '1860013', '1330013'])[:p + 1]
               || lpad(:n::text, 4, '0') AS national,
               (ARRAY['cmcc', 'cmcc', 'cmcc', 'cucc', 'ctcc'])[:p + 1] AS op) AS v;
