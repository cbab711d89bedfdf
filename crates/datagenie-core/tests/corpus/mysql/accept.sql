-- Tricky legal MySQL/MariaDB queries. Each must be accepted with its text unchanged (row filters aside).
-- ---
SELECT `select`, `from` FROM `table` WHERE `where` = 1
-- ---
SELECT DATE_FORMAT(created_at, '%Y-%m') AS m, COUNT(*) FROM orders GROUP BY m ORDER BY m
-- ---
SELECT GROUP_CONCAT(name ORDER BY name SEPARATOR ', ') FROM users
-- ---
SELECT IF(total > 100, 'big', 'small') AS size, IFNULL(note, '') FROM orders
-- ---
SELECT * FROM t LIMIT 5, 10
-- ---
SELECT 'DROP TABLE users; --' AS note
-- ---
SELECT "double quoted; DELETE FROM users"
-- ---
SELECT 'C:\\path\\', 'tab\there', 'it''s'
-- ---
SELECT CONVERT(name USING utf8mb4) FROM t
-- ---
SELECT _utf8mb4'abc'
-- ---
SELECT * FROM articles WHERE MATCH(title, body) AGAINST ('database' IN BOOLEAN MODE)
-- ---
SELECT JSON_EXTRACT(doc, '$.a'), doc->>'$.b' FROM t
-- ---
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 5) SELECT n FROM seq
-- ---
SELECT ROW_NUMBER() OVER (PARTITION BY a ORDER BY b) AS rn FROM t
-- ---
SELECT * FROM t1 STRAIGHT_JOIN t2 ON t1.id = t2.id
-- ---
SELECT SQL_NO_CACHE * FROM t
-- ---
SELECT * FROM t USE INDEX (idx_a) WHERE a = 1
-- ---
SELECT DATEDIFF(NOW(), created_at), TIMESTAMPDIFF(DAY, created_at, shipped_at) FROM orders
-- ---
SELECT CAST(x AS UNSIGNED), CAST(y AS CHAR) FROM t
-- ---
SELECT x FROM t WHERE x REGEXP '^a' AND y <=> NULL
-- ---
SELECT * FROM shop.orders
-- ---
SELECT 1 FROM DUAL
-- ---
SELECT a FROM t1 UNION SELECT b FROM t2
-- ---
SELECT * FROM t # a hash comment is dropped
-- ---
SELECT STR_TO_DATE('01/02/2024', '%m/%d/%Y'), YEAR(created_at), MONTH(created_at) FROM orders
-- ---
SELECT x, SUM(y) FROM t GROUP BY x WITH ROLLUP
-- ---
SELECT * FROM t WHERE name LIKE 'a\_%'
-- ---
SELECT x'41', b'101', 0x41
-- ---
SELECT jt.x FROM JSON_TABLE('[1, 2]', '$[*]' COLUMNS (x INT PATH '$')) AS jt
-- ---
SELECT COUNT(DISTINCT customer_id) FROM orders
-- ---
SELECT o.id FROM orders o WHERE EXISTS (SELECT 1 FROM items i WHERE i.order_id = o.id)
-- ---
-- policy: catalogs metadata
SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop'
-- ---
-- policy: allow-tables orders
SELECT * FROM ORDERS
-- ---
-- policy: schemas shop
-- policy: current-schema shop
SELECT * FROM orders JOIN shop.items ON items.order_id = orders.id
-- ---
-- policy: restrict customers(id, name)
SELECT `c`.`name` FROM `customers` AS `c`
-- ---
-- policy: row-filter orders: region = 'APAC'
-- contains: FROM (SELECT * FROM `orders` WHERE `orders`.region = 'APAC') AS `orders`
SELECT COUNT(*) FROM `orders`
-- ---
-- policy: row-filter orders: owner = {user.name}
-- policy: attr name = 'a\b'
-- contains: WHERE orders.owner = 'a\\b'
SELECT * FROM orders
-- ---
-- why: MySQL's own operators: DIV, ^ (bitwise XOR), shifts, XOR, <=>, && (AND), ~
SELECT 7 DIV 2, 7 % 2, 5 ^ 3, 1 << 2, 8 >> 1, 5 & 3 | 8, ~a, -a FROM t WHERE a XOR b AND c <=> NULL AND d && e
-- ---
-- why: the JSON path operators on a column
SELECT doc -> '$.a', doc ->> '$.b' FROM docs WHERE doc -> '$.c' = 1
