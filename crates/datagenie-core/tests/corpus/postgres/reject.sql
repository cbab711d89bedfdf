-- expect: empty_sql
;
