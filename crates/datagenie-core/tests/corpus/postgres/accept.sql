-- Tricky legal PostgreSQL queries. Each must be accepted with its text unchanged (row filters aside).
-- ---
SELECT 'DELETE FROM users; --' AS note
-- ---
SELECT $$ DROP TABLE users; $$ AS s, $tag$ ; $tag$ AS t
-- ---
SELECT E'it\'s', E'a\\b'
-- ---
SELECT "select", "from" FROM "where"
-- ---
SELECT x::int, y::text, '2024-01-01'::date, CAST(z AS numeric(10, 2)) FROM t
-- ---
SELECT string_agg(name, ', ' ORDER BY name) FROM users
-- ---
SELECT date_trunc('month', created_at) AS month, count(*) FROM orders GROUP BY 1 ORDER BY 1
-- ---
SELECT n FROM generate_series(1, 10) AS g(n)
-- ---
SELECT u.name, last_order.id FROM users u, LATERAL (SELECT id FROM orders o WHERE o.user_id = u.id ORDER BY o.created_at DESC LIMIT 1) AS last_order
-- ---
SELECT DISTINCT ON (user_id) user_id, created_at FROM orders ORDER BY user_id, created_at DESC
-- ---
WITH RECURSIVE tree AS (SELECT id, parent_id FROM nodes WHERE parent_id IS NULL UNION ALL SELECT n.id, n.parent_id FROM nodes n JOIN tree t ON n.parent_id = t.id) SELECT * FROM tree
-- ---
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) FROM payments
-- ---
SELECT count(*) FILTER (WHERE amount > 0) AS positive FROM payments
-- ---
SELECT rank() OVER (PARTITION BY dept ORDER BY salary DESC), dense_rank() OVER w FROM emp WINDOW w AS (ORDER BY salary)
-- ---
SELECT data->>'name', data->'a'->'b', data #>> '{a,b}' FROM docs
-- ---
SELECT jsonb_build_object('a', 1), jsonb_agg(t) FROM t GROUP BY t.k
-- ---
SELECT * FROM t WHERE name ILIKE '%x%' AND tags @> ARRAY['a']
-- ---
SELECT extract(year FROM created_at), now() - interval '7 days' FROM orders
-- ---
SELECT CURRENT_DATE, CURRENT_TIMESTAMP, localtimestamp
-- ---
SELECT coalesce(a, 0), greatest(a, b), least(a, b), nullif(a, b) FROM t
-- ---
SELECT * FROM t ORDER BY id FETCH FIRST 5 ROWS ONLY
-- ---
SELECT * FROM t OFFSET 5 LIMIT 10
-- ---
SELECT a FROM t UNION ALL SELECT b FROM u ORDER BY 1 LIMIT 5
-- ---
SELECT a FROM t INTERSECT SELECT b FROM u EXCEPT SELECT c FROM v
-- ---
SELECT * FROM public.orders
-- ---
SELECT pg_catalog.lower('X')
-- ---
SELECT x FROM unnest(ARRAY[1, 2, 3]) AS u(x)
-- ---
SELECT regexp_replace(name, '\d+', '', 'g') FROM t
-- ---
SELECT "Orders".id FROM "Orders"
-- ---
SELECT to_char(created_at, 'YYYY-MM') FROM t
-- ---
SELECT split_part(email, '@', 2), position('@' in email), substring(email from 2 for 3) FROM t
-- ---
SELECT x FROM t WHERE x = ANY(ARRAY[1, 2]) AND y IS DISTINCT FROM z
-- ---
SELECT 'SELECT pg_sleep(10); --' AS not_code, "pg_sleep" FROM t
-- ---
SELECT n.nspname, c.relname FROM (VALUES (1, 2)) AS c(relname, relnamespace) JOIN (VALUES (2, 'x')) AS n(oid, nspname) ON n.oid = c.relnamespace
-- ---
SELECT (t).a, (arr)[1] FROM t
-- ---
SELECT sum(amount) AS total FROM payments HAVING sum(amount) > 100
-- ---
-- policy: catalogs metadata
SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'
-- ---
-- policy: catalogs metadata
SELECT relname FROM pg_class
-- ---
-- policy: allow-tables orders
SELECT * FROM ORDERS
-- ---
-- policy: allow-tables public.orders
SELECT * FROM orders
-- ---
-- policy: restrict customers(id, name)
SELECT c.id, c.name, count(o.id) FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.name
-- ---
-- policy: row-filter orders: region = 'APAC'
-- contains: FROM (SELECT * FROM public.orders WHERE orders.region = 'APAC') AS orders
SELECT count(*) FROM public.orders
-- ---
-- policy: row-filter orders: tenant_id = {user.tenant}
-- policy: attr tenant = 'acme\corp'
-- contains: (SELECT * FROM orders WHERE orders.tenant_id = E'acme\\corp') AS o
SELECT * FROM orders AS o
-- ---
-- policy: row-filter orders: region = 'APAC'
-- contains: LATERAL (SELECT id FROM (SELECT * FROM orders WHERE orders.region = 'APAC') AS orders WHERE orders.user_id = u.id LIMIT 1)
SELECT * FROM users u, LATERAL (SELECT id FROM orders WHERE orders.user_id = u.id LIMIT 1) AS l
-- ---
-- why: PostgreSQL arithmetic and bitwise operators: ^ is exponentiation, # is XOR, prefix |/ ||/ @ are roots and abs
SELECT 2 ^ 3, 7 # 2, 1 << 4, 256 >> 2, 5 & 3 | 8, ~5, |/ 16.0, ||/ 27.0, @ -5, -a % 3 FROM t
-- ---
-- why: regular-expression and LIKE operators, also under ANY; ^@ is starts-with
SELECT * FROM t WHERE a ~ '^x' AND b ~* 'y' AND c !~ 'z' AND d !~* 'w' AND e ~~ 'a%' AND f !~~* 'b%' AND g ^@ 'pre'
-- ---
SELECT * FROM t WHERE name ~ ANY (ARRAY['^a', '^b']) OR name ~~* ALL (ARRAY['%x%'])
-- ---
-- why: read-only JSON operators: extract, contain, key tests, JSON path tests, a copy without a path
SELECT data #> '{a,b}', data #- '{a}' FROM docs WHERE data @> '{"a": 1}' AND '{"a": 1}' <@ data AND data ? 'a' AND data ?| ARRAY['a', 'b'] AND data ?& ARRAY['a'] AND data @? '$.a' AND data @@ '$.a == 1'
-- ---
-- why: array overlap, text search match, and OVERLAPS between periods
SELECT * FROM events WHERE tags && ARRAY['x'] AND search @@ 'cat & dog' AND (starts, ends) OVERLAPS (DATE '2024-01-01', DATE '2024-02-01')
