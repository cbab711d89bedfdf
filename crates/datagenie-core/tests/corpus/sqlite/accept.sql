-- Tricky legal SQLite queries. Each must be accepted with its text unchanged (row filters aside).
-- ---
SELECT 'DROP TABLE users; --' AS note
-- ---
SELECT "select", "delete" FROM "update"
-- ---
SELECT [order], `group` FROM [table] WHERE [where] = 1
-- ---
SELECT ';' || name || ';' FROM users
-- ---
SELECT * FROM users WHERE name = 'O''Brien; DELETE FROM users'
-- ---
SELECT strftime('%Y', created_at) AS y, count(*) FROM orders GROUP BY y ORDER BY y
-- ---
SELECT IIF(total > 100, 'big', 'small') AS size FROM orders
-- ---
WITH RECURSIVE cnt(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM cnt WHERE x < 10) SELECT x FROM cnt
-- ---
WITH cnt(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM cnt LIMIT 5) SELECT x FROM cnt
-- ---
SELECT name, row_number() OVER (PARTITION BY dept ORDER BY salary DESC) AS rn FROM emp
-- ---
SELECT a FROM t1 UNION SELECT b FROM t2 EXCEPT SELECT c FROM t3 INTERSECT SELECT d FROM t4
-- ---
SELECT group_concat(name, ', ') FROM users
-- ---
SELECT date('now', '-7 days'), datetime('now'), julianday('now'), time('now'), unixepoch()
-- ---
SELECT CAST(total AS INTEGER), CAST('1' AS REAL) FROM orders
-- ---
SELECT * FROM users WHERE name LIKE '%update%' ESCAPE '\'
-- ---
SELECT * FROM users WHERE email GLOB '*@*.com'
-- ---
VALUES (1, 'a'), (2, 'b')
-- ---
SELECT value FROM json_each('[1,2,3]')
-- ---
SELECT json_extract(data, '$.a'), json_array_length(data) FROM docs
-- ---
SELECT CASE WHEN a > 0 THEN 'pos' WHEN a < 0 THEN 'neg' ELSE 'zero' END FROM t
-- ---
SELECT * FROM (SELECT a FROM t) AS sub WHERE sub.a > 1
-- ---
SELECT * FROM t LIMIT 10 OFFSET 5
-- ---
-- why: a leading comment stays part of the approved text
-- leading comment
SELECT 1
-- ---
/* block */ SELECT 2 /* trailing comment is dropped */
-- ---
SELECT 1;
-- ---
SELECT 3;;
-- ---
SELECT count(DISTINCT a) FILTER (WHERE b > 0) FROM t
-- ---
SELECT total(x), avg(x), sum(x), min(x), max(x) FROM t
-- ---
SELECT printf('%d items', n), format('%s', n) FROM t
-- ---
SELECT substr(name, 1, 3), instr(name, 'a'), replace(name, 'a', 'b'), trim(name), ltrim(name), upper(name), lower(name), length(name) FROM t
-- ---
SELECT ifnull(a, 0), coalesce(a, b, 0), nullif(a, 0) FROM t
-- ---
SELECT a FROM t WHERE a IN (SELECT b FROM u WHERE u.x = t.x)
-- ---
SELECT t.* FROM t JOIN u USING (id)
-- ---
SELECT * FROM t NATURAL JOIN u
-- ---
SELECT * FROM t LEFT JOIN u ON t.id = u.id WHERE u.id IS NULL
-- ---
SELECT lag(x) OVER w, lead(x) OVER w FROM t WINDOW w AS (ORDER BY y)
-- ---
SELECT ntile(4) OVER (ORDER BY x ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t
-- ---
SELECT x FROM t ORDER BY x DESC NULLS LAST
-- ---
SELECT "a;b" FROM "weird;table"
-- ---
-- why: SQLite has no backslash escapes, so these are plain characters
SELECT 'it''s', 'back\slash', 'a\' FROM t
-- ---
SELECT typeof(x), hex(x), quote(x), unicode(x), char(65) FROM t
-- ---
SELECT * FROM users WHERE id BETWEEN 1 AND 10 AND name IS NOT NULL
-- ---
SELECT EXISTS (SELECT 1 FROM t)
-- ---
SELECT x FROM t GROUP BY x HAVING count(*) > 1
-- ---
SELECT round(avg(x), 2) FROM t
-- ---
SELECT 'SELECT * FROM sqlite_master; DROP TABLE t' AS q
-- ---
SELECT "Sélect", 'é;ü' FROM "Tâble"
-- ---
SELECT main.orders.id FROM main.orders
-- ---
-- policy: catalogs metadata
SELECT name FROM sqlite_master WHERE type = 'table'
-- ---
-- policy: catalogs metadata
SELECT * FROM pragma_table_info('users')
-- ---
-- why: a CTE that shadows a forbidden table and does not read it is fine
-- policy: allow-tables orders
WITH customers AS (SELECT 1 AS id) SELECT * FROM customers, orders
-- ---
-- policy: allow-tables orders
SELECT * FROM ORDERS
-- ---
-- policy: allow-tables orders
SELECT * FROM main."Orders"
-- ---
-- policy: restrict customers(id, name)
SELECT id, name FROM customers
-- ---
-- policy: restrict customers(id, name)
SELECT c.name FROM customers AS c ORDER BY name
-- ---
-- policy: restrict customers(id, name)
SELECT count(*) AS n FROM customers ORDER BY n
-- ---
-- policy: restrict customers(id, name)
SELECT o.* , c.name FROM orders o JOIN customers c ON c.id = o.customer_id
-- ---
-- policy: restrict customers(id, name)
SELECT x.name FROM (SELECT name FROM customers) AS x
-- ---
-- policy: row-filter orders: region = 'APAC'
-- contains: (SELECT * FROM orders WHERE orders.region = 'APAC') AS orders
SELECT * FROM orders
-- ---
-- policy: row-filter orders: region = 'APAC'
-- contains: FROM (SELECT * FROM orders WHERE orders.region = 'APAC') o JOIN customers c
SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id
-- ---
-- policy: row-filter orders: customer_id = {user.customer_id}
-- policy: attr customer_id = 42
-- contains: SELECT count(*) FROM (SELECT * FROM ORDERS WHERE ORDERS.customer_id = (42)) AS ORDERS
SELECT count(*) FROM ORDERS
-- ---
-- policy: row-filter orders: owner = {user.name}
-- policy: attr name = 'O''Brien'
-- contains: owner = 'O''''Brien'
SELECT * FROM orders
-- ---
-- policy: row-filter orders: region = 'APAC'
-- contains: WITH big AS (SELECT * FROM (SELECT * FROM orders WHERE orders.region = 'APAC') AS orders WHERE total > 100)
WITH big AS (SELECT * FROM orders WHERE total > 100) SELECT * FROM big
-- ---
-- policy: row-filter orders: region = 'APAC'
-- contains: UNION SELECT id FROM (SELECT * FROM orders WHERE orders.region = 'APAC') AS orders
SELECT id FROM archive UNION SELECT id FROM orders
-- ---
-- policy: row-filter orders: region = 'APAC'
-- contains: EXISTS (SELECT 1 FROM (SELECT * FROM orders WHERE orders.region = 'APAC') o WHERE o.customer_id = c.id)
SELECT c.name FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)
-- ---
-- why: a CTE named like the filtered table is not the table and is left alone; the table inside it is filtered
-- policy: row-filter orders: region = 'APAC'
-- contains: WITH orders AS (SELECT * FROM (SELECT * FROM main.orders WHERE orders.region = 'APAC') AS orders WHERE total > 0) SELECT * FROM orders
WITH orders AS (SELECT * FROM main.orders WHERE total > 0) SELECT * FROM orders
-- ---
-- why: SQLite resolves a forward reference to a later CTE (PostgreSQL and MySQL read the table)
-- policy: allow-tables orders
WITH a AS (SELECT * FROM orders), b AS (SELECT * FROM c), c AS (SELECT 1) SELECT * FROM b
-- ---
-- why: SQLite's own operators: arithmetic, comparison, logic, concatenation, bitwise and unary ones
SELECT -a + b * 2 - c / 3 % 2, a || b, a & 1 | 2, ~a, +a FROM t WHERE a = 1 AND b <> 2 OR NOT c >= 3 AND d == 4
-- ---
-- why: SQLite's JSON extraction operators and GLOB are built in (glob(), ->, ->>)
SELECT doc -> '$.a', doc ->> '$.b' FROM docs WHERE name GLOB 'a*'
-- ---
-- why: MATCH is full-text search (the built-in match() of FTS tables)
SELECT title FROM articles WHERE articles MATCH 'sqlite'
-- ---
-- why: the shapes of Spider's gold queries (every real one is checked by `examples/guard_gold.rs`)
SELECT T1.name FROM singer AS T1 JOIN concert AS T2 ON T1.singer_id = T2.singer_id GROUP BY T1.singer_id HAVING count(*) >= 2 ORDER BY count(*) DESC LIMIT 1
-- ---
SELECT name FROM singer WHERE singer_id NOT IN (SELECT singer_id FROM concert) EXCEPT SELECT name FROM singer WHERE age > 40
-- ---
SELECT T2.title FROM author AS T1 JOIN book AS T2 ON T1.id = T2.author_id WHERE T1.country = 'France' INTERSECT SELECT T2.title FROM author AS T1 JOIN book AS T2 ON T1.id = T2.author_id WHERE T1.age BETWEEN 20 AND 30
-- ---
SELECT count(DISTINCT city), avg(age), max(age), min(age) FROM people WHERE name LIKE '%son%' AND age != 30
-- ---
SELECT country FROM people GROUP BY country ORDER BY count(*) DESC LIMIT 1 OFFSET 0
