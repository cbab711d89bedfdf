-- SQLite attacks. Entries are separated by a line `-- ---`; see tests/guard_corpus.rs for the directives.
-- ---
-- expect: not_a_query
-- contains: DELETE
DELETE FROM users
-- ---
-- expect: not_a_query
DROP TABLE users;
-- ---
-- expect: not_a_query
INSERT INTO users (name) VALUES ('mallory')
-- ---
-- expect: not_a_query
UPDATE users SET is_admin = 1 WHERE name = 'mallory'
-- ---
-- expect: not_a_query
REPLACE INTO users (id, name) VALUES (1, 'x')
-- ---
-- why: keyword filters that look at the first word are bypassed by a leading comment
-- expect: not_a_query
/* harmless */ DELETE FROM users
-- ---
-- expect: not_a_query
-- just a comment
DROP TABLE users
-- ---
-- why: data-modifying CTE (sqlparser accepts it in every dialect)
-- expect: data_modifying_query
WITH gone AS (DELETE FROM users RETURNING *) SELECT * FROM gone
-- ---
-- expect: data_modifying_query
WITH x AS (UPDATE users SET is_admin = 1 RETURNING id) SELECT count(*) FROM x
-- ---
-- expect: data_modifying_query
WITH x AS (INSERT INTO log VALUES (1) RETURNING *) SELECT * FROM x
-- ---
-- expect: multiple_statements
SELECT 1; DROP TABLE users
-- ---
-- why: stacked statements after a transaction end
-- expect: multiple_statements
COMMIT; DROP TABLE users
-- ---
-- expect: multiple_statements
SELECT * FROM users; -- looks like a comment follows
DELETE FROM users
-- ---
-- expect: multiple_statements
select * from users where id = 1 or 1=1; update users set is_admin=1
-- ---
-- expect: multiple_statements
BEGIN; SELECT 1
-- ---
-- why: sqlparser stops at END and drops the rest; the guard requires every token to be consumed
-- expect: parse_error
SELECT 1 END DELETE FROM users
-- ---
-- expect: not_a_query
ATTACH DATABASE '/tmp/evil.db' AS evil
-- ---
-- expect: parse_error
DETACH DATABASE evil
-- ---
-- expect: parse_error
VACUUM INTO '/tmp/copy.db'
-- ---
-- expect: forbidden_function
-- contains: function load_extension is not allowed
SELECT load_extension('/tmp/evil.so')
-- ---
-- expect: forbidden_function
SELECT * FROM users WHERE load_extension('/tmp/evil.so', 'init') IS NULL
-- ---
-- expect: forbidden_function
SELECT LOAD_EXTENSION('x')
-- ---
-- expect: forbidden_function
SELECT "load_extension"('x')
-- ---
-- expect: forbidden_function
SELECT main.load_extension('x')
-- ---
-- expect: not_a_query
PRAGMA writable_schema = 1
-- ---
-- expect: parse_error
PRAGMA table_info(users)
-- ---
-- expect: forbidden_table
-- contains: table sqlite_master is not allowed
SELECT * FROM sqlite_master
-- ---
-- expect: forbidden_table
SELECT sql FROM main.sqlite_schema
-- ---
-- expect: forbidden_table
SELECT * FROM "SQLITE_MASTER"
-- ---
-- expect: forbidden_table
SELECT * FROM [sqlite_master]
-- ---
-- expect: forbidden_table
SELECT * FROM `sqlite_temp_master`
-- ---
-- expect: forbidden_table
SELECT name FROM 'sqlite_master'
-- ---
-- expect: forbidden_table
SELECT * FROM pragma_table_info('users')
-- ---
-- why: raw pages bypass every permission, even when metadata catalogs are allowed
-- expect: forbidden_table
-- policy: catalogs metadata
SELECT * FROM sqlite_dbpage
-- ---
-- expect: forbidden_table
SELECT * FROM dbstat
-- ---
-- expect: forbidden_table
-- policy: catalogs metadata
SELECT * FROM json_each('[1]'), pragma_compile_options
-- ---
-- expect: forbidden_table
SELECT * FROM sqlite_sequence
-- ---
-- expect: forbidden_table
SELECT name FROM users UNION SELECT name FROM sqlite_master
-- ---
-- expect: forbidden_table
SELECT * FROM (SELECT * FROM sqlite_master) AS s
-- ---
-- expect: forbidden_table
WITH s AS (SELECT * FROM sqlite_master) SELECT * FROM s
-- ---
-- expect: forbidden_table
SELECT * FROM users WHERE EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table')
-- ---
-- expect: forbidden_function
SELECT randomblob(1000000000)
-- ---
-- expect: forbidden_function
SELECT zeroblob(1000000000)
-- ---
-- expect: forbidden_function
SELECT readfile('/etc/passwd')
-- ---
-- expect: forbidden_function
SELECT writefile('/tmp/x', 'data')
-- ---
-- expect: forbidden_function
SELECT edit('text', 'vi')
-- ---
-- expect: forbidden_function
SELECT fts3_tokenizer('simple')
-- ---
-- expect: forbidden_function
SELECT sqlite_version()
-- ---
-- expect: forbidden_function
SELECT changes(), last_insert_rowid()
-- ---
-- why: sqlparser accepts FOR UPDATE under SQLite; the guard refuses locking clauses in every dialect
-- expect: locking_clause
SELECT * FROM users FOR UPDATE
-- ---
-- expect: into_clause
SELECT * INTO backup FROM users
-- ---
-- expect: forbidden_function
SELECT * FROM users WHERE id = (SELECT (SELECT randomblob(10)))
-- ---
-- expect: forbidden_function
SELECT * FROM users ORDER BY (SELECT readfile('x'))
-- ---
-- expect: forbidden_function
SELECT id FROM users GROUP BY id HAVING load_extension('a') IS NULL
-- ---
-- expect: forbidden_function
SELECT count(*) OVER (PARTITION BY load_extension('a')) FROM users
-- ---
-- expect: forbidden_function
SELECT CASE WHEN 1 THEN readfile('/etc/passwd') END
-- ---
-- expect: forbidden_function
SELECT * FROM users JOIN orders ON users.id = orders.user_id AND load_extension('x') IS NULL
-- ---
-- expect: forbidden_function
SELECT * FROM users LIMIT (SELECT randomblob(5))
-- ---
-- expect: forbidden_function
VALUES (readfile('/etc/passwd'))
-- ---
-- expect: forbidden_construct
SELECT * FROM users WHERE name = ?
-- ---
-- expect: forbidden_construct
SELECT * FROM users WHERE name = :name
-- ---
-- expect: forbidden_construct
SELECT 1 /*!, load_extension('x') */
-- ---
-- expect: not_a_query
CREATE TEMP TABLE x AS SELECT 1
-- ---
-- why: the `;` inside the trigger body already ends the first statement for the guard
-- expect: multiple_statements
CREATE TRIGGER t AFTER INSERT ON users BEGIN DELETE FROM users; END
-- ---
-- expect: not_a_query
SAVEPOINT a
-- ---
-- expect: not_a_query
EXPLAIN SELECT 1
-- ---
-- expect: not_a_query
ANALYZE users
-- ---
-- expect: multiple_statements
SELECT 'a'; SELECT 'b'
-- ---
-- why: a policy that lists tables refuses every other table, however it is spelled
-- policy: allow-tables orders
-- expect: forbidden_table
-- contains: table customers is not allowed
SELECT * FROM customers
-- ---
-- policy: allow-tables orders
-- expect: forbidden_table
-- contains: Customers
SELECT * FROM ORDERS o JOIN Customers c ON c.id = o.customer_id
-- ---
-- why: the CTE named like an allowed table reads a forbidden one
-- policy: allow-tables orders
-- expect: forbidden_table
WITH orders AS (SELECT * FROM customers) SELECT * FROM orders
-- ---
-- policy: allow-tables orders
-- expect: forbidden_table
SELECT * FROM orders WHERE id IN (SELECT order_id FROM secrets)
-- ---
-- policy: allow-tables orders
-- expect: forbidden_table
SELECT * FROM main.secrets
-- ---
-- policy: allow-tables orders
-- expect: forbidden_table
SELECT * FROM "secrets"
-- ---
-- policy: allow-tables orders
-- expect: forbidden_table
SELECT id FROM orders UNION ALL SELECT id FROM secrets
-- ---
-- policy: allow-tables orders
-- expect: forbidden_table
SELECT (SELECT max(value) FROM secrets WHERE secrets.id = o.id) FROM orders o
-- ---
-- policy: schemas main
-- expect: forbidden_table
-- contains: schema other
SELECT * FROM other.orders
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
-- contains: allowed: id, name
SELECT * FROM customers
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
-- contains: column ssn is not allowed
SELECT ssn FROM customers
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT c.ssn FROM customers c
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT c.* FROM customers AS c
-- ---
-- why: reading a column in WHERE leaks it as surely as selecting it
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT name FROM customers WHERE ssn LIKE '1%'
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT x.ssn FROM (SELECT * FROM customers) AS x
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT id FROM customers ORDER BY ssn
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT count(*) FROM customers GROUP BY ssn
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT name FROM customers NATURAL JOIN people
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
WITH c AS (SELECT ssn FROM customers) SELECT * FROM c
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT main.customers.ssn FROM customers
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT "SSN" FROM Customers
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT [ssn] FROM customers
-- ---
-- why: the unqualified column may belong to the restricted table in the outer query (correlation)
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT name FROM customers WHERE EXISTS (SELECT 1 FROM orders WHERE ssn = '1')
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT max(ssn) OVER (PARTITION BY id) FROM customers
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT name FROM customers JOIN people USING (ssn)
-- ---
-- policy: row-filter orders: customer_id = {user.customer_id}
-- expect: invalid_config
-- contains: customer_id
SELECT * FROM orders
-- ---
-- policy: row-filter orders: customer_id IN (SELECT id FROM customers)
-- expect: invalid_config
SELECT * FROM orders
-- ---
-- policy: row-filter orders: readfile('x') IS NULL
-- expect: invalid_config
SELECT * FROM orders
-- ---
-- policy: row-filter orders: customers.region = 'APAC'
-- expect: invalid_config
SELECT * FROM orders
-- ---
-- why: SQLite has no ^ operator; sqlparser reads it as bitwise XOR, the guard lists only SQLite's own operators
-- expect: forbidden_construct
-- contains: the operator ^ is not allowed in SQLite
SELECT a ^ b FROM t
-- ---
-- why: SQLite has no regexp(): x REGEXP y calls whatever function the application registered under that name
-- expect: forbidden_construct
-- contains: the operator REGEXP
SELECT * FROM users WHERE name REGEXP '^a'
-- ---
-- why: PostgreSQL operators that sqlparser also accepts under SQLite
-- expect: forbidden_construct
-- contains: the operator ~ is not allowed in SQLite
SELECT * FROM users WHERE name ~ '^a'
-- ---
-- expect: forbidden_construct
-- contains: the operator @>
SELECT * FROM docs WHERE doc @> '{}'
-- ---
-- expect: forbidden_construct
-- contains: operator :=
SELECT a := 1 FROM t
-- ---
-- why: SQLite itself rejects ORDER BY / LIMIT before INTERSECT; one of Spider's gold queries has this shape
-- expect: parse_error
SELECT name FROM documents GROUP BY type_code ORDER BY count(*) DESC LIMIT 3 INTERSECT SELECT name FROM documents GROUP BY structure_code ORDER BY count(*) DESC LIMIT 3
