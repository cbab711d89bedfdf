-- PostgreSQL attacks. Entries are separated by a line `-- ---`; see tests/guard_corpus.rs for the directives.
-- ---
-- expect: not_a_query
DELETE FROM users
-- ---
-- expect: not_a_query
TRUNCATE users
-- ---
-- expect: not_a_query
GRANT ALL ON users TO PUBLIC
-- ---
-- expect: not_a_query
CREATE EXTENSION dblink
-- ---
-- expect: data_modifying_query
-- contains: DELETE inside a query
WITH gone AS (DELETE FROM users RETURNING *) SELECT * FROM gone
-- ---
-- expect: data_modifying_query
WITH u AS (UPDATE users SET is_admin = true RETURNING id) SELECT count(*) FROM u
-- ---
-- expect: data_modifying_query
WITH i AS (INSERT INTO audit VALUES (1) RETURNING *) SELECT * FROM i
-- ---
-- expect: data_modifying_query
WITH x AS (SELECT 1) DELETE FROM users
-- ---
-- expect: data_modifying_query
SELECT * FROM (WITH d AS (DELETE FROM users RETURNING id) SELECT id FROM d) AS s
-- ---
-- expect: forbidden_function
-- contains: function pg_sleep is not allowed
SELECT pg_sleep(10)
-- ---
-- expect: forbidden_function
SELECT * FROM users WHERE id = 1 AND pg_sleep(5) IS NOT NULL
-- ---
-- expect: forbidden_function
-- contains: function pg_catalog.pg_sleep is not allowed
SELECT pg_catalog.pg_sleep(1)
-- ---
-- expect: forbidden_function
SELECT "pg_sleep"(1)
-- ---
-- expect: forbidden_function
SELECT PG_SLEEP(1)
-- ---
-- expect: forbidden_function
SELECT pg_sleep_for('5 minutes')
-- ---
-- why: a table function in FROM is still a function call
-- expect: forbidden_function
-- contains: function pg_read_file is not allowed
SELECT * FROM pg_read_file('/etc/passwd')
-- ---
-- expect: forbidden_function
SELECT pg_read_file('/etc/passwd')
-- ---
-- expect: forbidden_function
SELECT pg_read_binary_file('/etc/passwd')
-- ---
-- expect: forbidden_function
SELECT * FROM pg_ls_dir('.')
-- ---
-- expect: forbidden_function
SELECT pg_stat_file('postgresql.conf')
-- ---
-- expect: forbidden_function
SELECT lo_import('/etc/passwd')
-- ---
-- expect: forbidden_function
SELECT lo_export(16409, '/tmp/x')
-- ---
-- expect: forbidden_function
SELECT lo_get(16409)
-- ---
-- expect: forbidden_function
SELECT dblink('host=evil.example', 'SELECT 1')
-- ---
-- expect: forbidden_function
SELECT * FROM dblink('dbname=other', 'SELECT secret FROM vault') AS t(secret text)
-- ---
-- expect: forbidden_function
SELECT dblink_exec('DROP TABLE users')
-- ---
-- expect: forbidden_function
SELECT pg_terminate_backend(1234)
-- ---
-- expect: forbidden_function
SELECT pg_cancel_backend(1234)
-- ---
-- expect: forbidden_function
SELECT set_config('search_path', 'evil', false)
-- ---
-- expect: forbidden_function
SELECT current_setting('data_directory')
-- ---
-- expect: forbidden_function
SELECT nextval('orders_id_seq')
-- ---
-- expect: forbidden_function
SELECT setval('orders_id_seq', 1)
-- ---
-- expect: forbidden_function
SELECT pg_advisory_lock(1)
-- ---
-- expect: forbidden_function
SELECT pg_try_advisory_xact_lock(1)
-- ---
-- why: query_to_xml runs its argument as SQL
-- expect: forbidden_function
SELECT query_to_xml('DELETE FROM users RETURNING *', true, true, '')
-- ---
-- expect: forbidden_function
SELECT table_to_xml('users', true, true, '')
-- ---
-- expect: forbidden_function
SELECT pg_notify('channel', 'payload')
-- ---
-- expect: forbidden_function
SELECT txid_current()
-- ---
-- expect: forbidden_function
SELECT version()
-- ---
-- expect: forbidden_function
SELECT current_user
-- ---
-- expect: forbidden_function
SELECT myschema.myfunc(1)
-- ---
-- expect: forbidden_function
SELECT pg_reload_conf()
-- ---
-- expect: forbidden_function
SELECT * FROM users, LATERAL pg_ls_dir('.') AS f
-- ---
-- expect: forbidden_function
SELECT * FROM generate_series(1, 3) AS g(n), LATERAL (SELECT pg_sleep(g.n)) AS s
-- ---
-- expect: forbidden_function
SELECT (SELECT (SELECT pg_sleep(1)))
-- ---
-- expect: forbidden_function
SELECT ARRAY(SELECT pg_sleep(1))
-- ---
-- expect: forbidden_function
SELECT * FROM users ORDER BY pg_sleep(1)
-- ---
-- expect: forbidden_function
SELECT count(*) FILTER (WHERE pg_sleep(1) IS NULL) FROM users
-- ---
-- expect: forbidden_function
SELECT string_agg(name, ',' ORDER BY pg_sleep(1)) FROM users
-- ---
-- expect: forbidden_function
SELECT * FROM users WHERE id IN (VALUES (pg_sleep(1)))
-- ---
-- expect: forbidden_function
SELECT CASE WHEN true THEN pg_sleep(1) END
-- ---
-- expect: forbidden_function
SELECT sum(x) OVER (PARTITION BY pg_sleep(1)) FROM t
-- ---
-- expect: locking_clause
-- contains: FOR UPDATE
SELECT * FROM users FOR UPDATE
-- ---
-- expect: locking_clause
SELECT * FROM users FOR SHARE
-- ---
-- expect: locking_clause
SELECT * FROM users FOR UPDATE SKIP LOCKED
-- ---
-- expect: locking_clause
SELECT * FROM (SELECT * FROM users FOR UPDATE) AS s
-- ---
-- expect: into_clause
SELECT * INTO new_table FROM users
-- ---
-- expect: not_a_query
COPY users TO '/tmp/users.csv'
-- ---
-- expect: not_a_query
COPY (SELECT 1) TO PROGRAM 'rm -rf /'
-- ---
-- expect: parse_error
DO $$ BEGIN PERFORM pg_sleep(1); END $$
-- ---
-- expect: not_a_query
CALL refresh_everything()
-- ---
-- expect: not_a_query
PREPARE s AS SELECT 1
-- ---
-- expect: not_a_query
EXECUTE s
-- ---
-- expect: not_a_query
DEALLOCATE s
-- ---
-- expect: not_a_query
SET search_path = evil, public
-- ---
-- expect: not_a_query
SET ROLE postgres
-- ---
-- expect: not_a_query
RESET ALL
-- ---
-- expect: not_a_query
LISTEN channel
-- ---
-- expect: not_a_query
NOTIFY channel, 'x'
-- ---
-- expect: not_a_query
UNLISTEN *
-- ---
-- expect: not_a_query
-- contains: EXPLAIN
EXPLAIN ANALYZE DELETE FROM users
-- ---
-- expect: not_a_query
EXPLAIN ANALYZE SELECT pg_sleep(1)
-- ---
-- expect: not_a_query
VACUUM
-- ---
-- expect: not_a_query
LOCK TABLE users
-- ---
-- expect: not_a_query
LOAD 'evil'
-- ---
-- expect: not_a_query
DISCARD ALL
-- ---
-- expect: not_a_query
SHOW ALL
-- ---
-- expect: not_a_query
BEGIN
-- ---
-- expect: multiple_statements
SELECT 1; COMMIT; DROP TABLE users
-- ---
-- expect: multiple_statements
COMMIT; DROP TABLE users
-- ---
-- expect: forbidden_table
-- contains: table pg_shadow is not allowed
SELECT * FROM pg_shadow
-- ---
-- expect: forbidden_table
SELECT rolpassword FROM pg_catalog.pg_authid
-- ---
-- expect: forbidden_table
SELECT * FROM pg_user
-- ---
-- expect: forbidden_table
SELECT query FROM pg_stat_activity
-- ---
-- expect: forbidden_table
SELECT * FROM pg_settings
-- ---
-- expect: forbidden_table
SELECT * FROM pg_hba_file_rules
-- ---
-- expect: forbidden_table
SELECT * FROM pg_user_mappings
-- ---
-- why: statistics hold column values and would bypass column restrictions
-- expect: forbidden_table
-- policy: catalogs metadata
SELECT most_common_vals FROM pg_stats
-- ---
-- expect: forbidden_table
-- policy: catalogs metadata
SELECT * FROM information_schema.user_mapping_options
-- ---
-- expect: forbidden_table
SELECT * FROM "pg_catalog"."pg_authid"
-- ---
-- expect: forbidden_table
SELECT * FROM PG_CATALOG.PG_SHADOW
-- ---
-- expect: forbidden_table
SELECT * FROM pg_toast.pg_toast_2619
-- ---
-- expect: forbidden_table
SELECT * FROM information_schema.tables
-- ---
-- expect: forbidden_table
SELECT name FROM users UNION SELECT usename FROM pg_shadow
-- ---
-- why: sqlparser reads FROM ONLY t as a table named ONLY aliased t
-- expect: forbidden_construct
SELECT * FROM ONLY pg_shadow
-- ---
-- expect: forbidden_construct
SELECT * FROM U&"\0070g_shadow"
-- ---
-- why: with standard_conforming_strings off this literal would end later and hide a statement
-- expect: forbidden_construct
SELECT 'a\'; DROP TABLE users; --'
-- ---
-- expect: forbidden_construct
SELECT * FROM users WHERE id = $1
-- ---
-- expect: forbidden_construct
SELECT 1 OPERATOR(pg_catalog.+) 1
-- ---
-- expect: forbidden_construct
SELECT * FROM users TABLESAMPLE BERNOULLI (10)
-- ---
-- expect: forbidden_construct
SELECT 1 /*!, pg_sleep(1) */
-- ---
-- policy: allow-tables public.orders
-- expect: forbidden_table
SELECT * FROM sales.orders
-- ---
-- why: quoted names are case-sensitive in PostgreSQL; "Orders" is another table
-- policy: allow-tables orders
-- expect: forbidden_table
SELECT * FROM "Orders"
-- ---
-- policy: schemas public
-- expect: forbidden_table
-- contains: schema hr
SELECT * FROM hr.salaries
-- ---
-- policy: allow-tables orders
-- expect: forbidden_table
WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r, secrets
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT to_jsonb(c) FROM customers AS c
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT row_to_json(customers.*) FROM customers
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT public.customers.ssn FROM public.customers
-- ---
-- policy: restrict customers(id, name)
-- expect: forbidden_column
SELECT c.ssn FROM orders o JOIN LATERAL (SELECT * FROM customers WHERE id = o.customer_id) c ON true
-- ---
-- policy: row-filter orders: region = 'APAC' AND pg_sleep(1) IS NULL
-- expect: invalid_config
SELECT * FROM orders
-- ---
-- policy: row-filter orders: region = {user.region
-- expect: invalid_config
SELECT * FROM orders
-- ---
-- why: a forward reference to a later CTE reads the table of that name in this dialect
-- policy: allow-tables orders
-- expect: forbidden_table
-- contains: table c is not allowed
WITH a AS (SELECT * FROM orders), b AS (SELECT * FROM c), c AS (SELECT 1) SELECT * FROM b
-- ---
-- why: a non-recursive CTE's own name inside its body is the table
-- policy: allow-tables orders
-- expect: forbidden_table
WITH secrets AS (SELECT * FROM secrets) SELECT * FROM secrets
-- ---
-- why: user-defined operators run whatever function their creator chose
-- expect: forbidden_construct
-- contains: the operator OPERATOR(public.+)
SELECT 1 OPERATOR(public.+) 1
-- ---
-- expect: forbidden_construct
-- contains: the operator <~> is not allowed in PostgreSQL
SELECT * FROM users WHERE name <~> 'x'
-- ---
-- why: geometric operators are off the list (extensions reuse <-> for their own types)
-- expect: forbidden_construct
-- contains: the operator <->
SELECT name FROM places ORDER BY location <-> point '(0,0)' LIMIT 5
-- ---
-- why: the factorial operators were removed in PostgreSQL 14; the name can only be a user-defined operator now
-- expect: forbidden_construct
-- contains: the operator !!
SELECT !! 5
-- ---
-- expect: forbidden_construct
-- contains: the operator !
SELECT 5 !
-- ---
-- expect: forbidden_construct
-- contains: the operator @-@
SELECT @-@ path FROM shapes
-- ---
-- why: MySQL operators that sqlparser also accepts under PostgreSQL
-- expect: forbidden_construct
-- contains: the operator <=> is not allowed in PostgreSQL
SELECT * FROM t WHERE a <=> b
-- ---
-- expect: forbidden_construct
-- contains: the operator XOR
SELECT * FROM t WHERE a XOR b
