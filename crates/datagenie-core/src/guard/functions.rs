//! Per-dialect allow-lists of side-effect-free functions: aggregates, math, string, date/time, JSON, conditional,
//! window and casts. Anything not listed is refused, so file access (`pg_read_file`, `load_file`, `readfile`), sleeps
//! and benchmarks, advisory locks, sequences (`nextval`), backend and admin control, configuration
//! (`set_config`, `current_setting`), extension loading, `dblink`, large objects, and query-executing helpers
//! (`query_to_xml` and kin) never pass, however they are spelled or wherever they appear.
//!
//! Deliberately absent although harmless-looking: `randomblob`/`zeroblob` (a one-call denial of service),
//! `version()`, `current_user`, `database()` (server facts are not analytics), `last_insert_id(expr)` and
//! `setseed` (they change session state), `txid_current` (assigns a transaction id).
//!
//! Lists are sorted (a unit test checks) and searched by binary search on the lower-cased last name part.

use crate::dialect::Dialect;

const COMMON: &[&str] = &[
    "abs", "acos", "asin", "atan", "atan2", "avg", "ceil", "ceiling", "char_length", "character_length", "coalesce",
    "concat", "concat_ws", "cos", "cot", "count", "cume_dist", "current_date", "current_time", "current_timestamp",
    "degrees", "dense_rank", "exp", "first_value", "floor", "greatest", "instr", "lag", "last_value", "lead", "least",
    "left", "length", "ln", "localtime", "localtimestamp", "log", "log10", "lower", "lpad", "ltrim", "max", "min",
    "mod", "nth_value", "ntile", "nullif", "octet_length", "percent_rank", "pi", "position", "pow", "power",
    "radians", "random", "rank", "repeat", "replace", "reverse", "right", "round", "row_number", "rpad", "rtrim",
    "sign", "sin", "sqrt", "substr", "substring", "sum", "tan", "trim", "trunc", "truncate", "upper",
];

const SQLITE: &[&str] = &[
    "acosh", "asinh", "atanh", "avg", "char", "cosh", "date", "datetime", "format", "glob", "group_concat", "hex",
    "ifnull", "iif", "instr", "json", "json_array", "json_array_length", "json_error_position", "json_extract",
    "json_group_array", "json_group_object", "json_insert", "json_object", "json_patch", "json_pretty", "json_quote",
    "json_remove", "json_replace", "json_set", "json_type", "json_valid", "jsonb", "jsonb_array", "jsonb_extract",
    "jsonb_group_array", "jsonb_group_object", "jsonb_insert", "jsonb_object", "jsonb_patch", "jsonb_remove",
    "jsonb_replace", "jsonb_set", "julianday", "like", "likelihood", "likely", "log2", "lower", "ltrim", "max",
    "median", "min", "mode", "nullif", "octet_length", "percentile", "percentile_cont", "percentile_disc", "printf",
    "quote", "round", "rtrim", "sign", "sinh", "soundex", "strftime", "string_agg", "substr", "substring", "tanh",
    "time", "timediff", "total", "trim", "typeof", "unhex", "unicode", "unixepoch", "unlikely", "upper",
];

const POSTGRES: &[&str] = &[
    "acosh", "age", "array", "array_agg", "array_append", "array_cat", "array_dims", "array_fill", "array_length",
    "array_lower", "array_ndims", "array_position", "array_positions", "array_prepend", "array_remove",
    "array_replace", "array_to_json", "array_to_string", "array_upper", "ascii", "asinh", "atanh", "bit_and",
    "bit_length", "bit_or", "bit_xor", "bool_and", "bool_or", "btrim", "cardinality", "cbrt", "chr",
    "clock_timestamp", "corr", "cosh", "covar_pop", "covar_samp", "date", "date_add", "date_bin", "date_part",
    "date_subtract", "date_trunc", "decode", "div", "encode", "every", "extract", "factorial", "format", "gcd",
    "generate_series", "generate_subscripts", "initcap", "isfinite", "json_agg", "json_array_elements",
    "json_array_elements_text", "json_array_length", "json_build_array", "json_build_object", "json_each",
    "json_each_text", "json_extract_path", "json_extract_path_text", "json_object", "json_object_agg",
    "json_object_keys", "json_populate_record", "json_populate_recordset", "json_strip_nulls", "json_to_record",
    "json_to_recordset", "json_typeof", "jsonb_agg", "jsonb_array_elements", "jsonb_array_elements_text",
    "jsonb_array_length", "jsonb_build_array", "jsonb_build_object", "jsonb_each", "jsonb_each_text",
    "jsonb_extract_path", "jsonb_extract_path_text", "jsonb_insert", "jsonb_object", "jsonb_object_agg",
    "jsonb_object_keys", "jsonb_path_exists", "jsonb_path_match", "jsonb_path_query", "jsonb_path_query_array",
    "jsonb_path_query_first", "jsonb_populate_record", "jsonb_populate_recordset", "jsonb_pretty", "jsonb_set",
    "jsonb_set_lax", "jsonb_strip_nulls", "jsonb_to_record", "jsonb_to_recordset", "jsonb_typeof", "justify_days",
    "justify_hours", "justify_interval", "lcm", "make_date", "make_interval", "make_time", "make_timestamp",
    "make_timestamptz", "md5", "min_scale", "mode", "normalize", "now", "num_nonnulls", "num_nulls", "numeric",
    "overlay", "percentile_cont", "percentile_disc", "quote_ident", "quote_literal", "quote_nullable", "range_agg",
    "regexp_count", "regexp_instr", "regexp_like", "regexp_match", "regexp_matches", "regexp_replace",
    "regexp_split_to_array", "regexp_split_to_table", "regexp_substr", "regr_avgx", "regr_avgy", "regr_count",
    "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy", "row_to_json", "scale", "sha224",
    "sha256", "sha384", "sha512", "sinh", "split_part", "starts_with", "statement_timestamp", "stddev", "stddev_pop",
    "stddev_samp", "string_agg", "string_to_array", "strpos", "tanh", "text", "to_char", "to_date", "to_hex",
    "to_json", "to_jsonb", "to_number", "to_timestamp", "transaction_timestamp", "translate", "trim_array",
    "trim_scale", "unistr", "unnest", "var_pop", "var_samp", "variance", "width_bucket",
];

const MYSQL: &[&str] = &[
    "adddate", "addtime", "any_value", "ascii", "bin", "bit_and", "bit_length", "bit_or", "bit_xor", "char", "conv",
    "convert_tz", "crc32", "curdate", "curtime", "date", "date_add", "date_format", "date_sub", "datediff", "day",
    "dayname", "dayofmonth", "dayofweek", "dayofyear", "div", "elt", "export_set", "extract", "field", "find_in_set",
    "format", "from_base64", "from_days", "from_unixtime", "get_format", "group_concat", "hex", "hour", "if",
    "ifnull", "insert", "isnull", "json_array", "json_array_append", "json_array_insert", "json_arrayagg",
    "json_contains", "json_contains_path", "json_depth", "json_extract", "json_insert", "json_keys", "json_length",
    "json_merge_patch", "json_merge_preserve", "json_object", "json_objectagg", "json_overlaps", "json_pretty",
    "json_quote", "json_remove", "json_replace", "json_search", "json_set", "json_type", "json_unquote", "json_valid",
    "json_value", "last_day", "lcase", "locate", "log2", "make_set", "makedate", "maketime", "md5", "microsecond",
    "mid", "minute", "month", "monthname", "now", "oct", "ord", "period_add", "period_diff", "quarter", "quote",
    "rand", "regexp_instr", "regexp_like", "regexp_replace", "regexp_substr", "sec_to_time", "second", "sha", "sha1",
    "sha2", "soundex", "space", "std", "stddev", "stddev_pop", "stddev_samp", "str_to_date", "strcmp", "subdate",
    "substring_index", "subtime", "sysdate", "time", "time_format", "time_to_sec", "timediff", "timestamp",
    "timestampadd", "timestampdiff", "to_base64", "to_days", "to_seconds", "ucase", "unhex", "unix_timestamp",
    "utc_date", "utc_time", "utc_timestamp", "var_pop", "var_samp", "variance", "week", "weekday", "weekofyear",
    "year", "yearweek",
];

const SQLITE_TABLE_FUNCTIONS: &[&str] = &[
    "generate_series", "json_each", "json_tree",
];

const POSTGRES_TABLE_FUNCTIONS: &[&str] = &[
    "generate_series", "generate_subscripts", "json_array_elements", "json_array_elements_text", "json_each",
    "json_each_text", "json_object_keys", "json_populate_record", "json_populate_recordset", "json_to_record",
    "json_to_recordset", "jsonb_array_elements", "jsonb_array_elements_text", "jsonb_each", "jsonb_each_text",
    "jsonb_object_keys", "jsonb_path_query", "jsonb_populate_record", "jsonb_populate_recordset", "jsonb_to_record",
    "jsonb_to_recordset", "regexp_matches", "regexp_split_to_table", "unnest",
];

const MYSQL_TABLE_FUNCTIONS: &[&str] = &[];

fn contains(list: &[&str], name: &str) -> bool {
    list.binary_search(&name).is_ok()
}

/// True when `name` (lower case, unqualified) is a scalar, aggregate or window function allowed in `dialect`.
pub(crate) fn is_allowed(dialect: Dialect, name: &str) -> bool {
    contains(COMMON, name)
        || match dialect {
            Dialect::Sqlite => contains(SQLITE, name),
            Dialect::Postgres => contains(POSTGRES, name),
            Dialect::Mysql => contains(MYSQL, name),
        }
}

/// True when `name` (lower case, unqualified) is a table-valued function allowed in a FROM clause of `dialect`.
pub(crate) fn is_table_function(dialect: Dialect, name: &str) -> bool {
    match dialect {
        Dialect::Sqlite => contains(SQLITE_TABLE_FUNCTIONS, name),
        Dialect::Postgres => contains(POSTGRES_TABLE_FUNCTIONS, name),
        Dialect::Mysql => contains(MYSQL_TABLE_FUNCTIONS, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_unique_lower_case() {
        for list in [
            COMMON,
            SQLITE,
            POSTGRES,
            MYSQL,
            SQLITE_TABLE_FUNCTIONS,
            POSTGRES_TABLE_FUNCTIONS,
            MYSQL_TABLE_FUNCTIONS,
        ] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "not sorted: {list:?}");
            assert!(list.iter().all(|n| *n == n.to_lowercase()));
        }
    }

    #[test]
    fn dangerous_functions_are_absent_everywhere() {
        let dangerous = [
            "pg_sleep", "pg_sleep_for", "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "lo_import", "lo_export",
            "dblink", "dblink_exec", "pg_terminate_backend", "pg_cancel_backend", "set_config", "current_setting",
            "nextval", "setval", "pg_advisory_lock", "query_to_xml", "table_to_xml", "pg_notify", "txid_current",
            "sleep", "benchmark", "load_file", "get_lock", "release_lock", "master_pos_wait", "sys_exec",
            "load_extension", "randomblob", "zeroblob", "readfile", "writefile", "edit", "fts3_tokenizer",
            "last_insert_id", "version", "setseed", "pg_stat_file", "copy", "xp_cmdshell", "sqlite_version",
        ];
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            for name in dangerous {
                assert!(!is_allowed(dialect, name), "{name} allowed in {dialect}");
                assert!(!is_table_function(dialect, name), "{name} table function in {dialect}");
            }
        }
    }

    #[test]
    fn dialect_functions_are_present() {
        assert!(is_allowed(Dialect::Sqlite, "strftime") && is_allowed(Dialect::Sqlite, "iif"));
        assert!(is_allowed(Dialect::Postgres, "string_agg") && is_allowed(Dialect::Postgres, "date_trunc"));
        assert!(is_allowed(Dialect::Mysql, "date_format") && is_allowed(Dialect::Mysql, "group_concat"));
        assert!(!is_allowed(Dialect::Sqlite, "date_format"));
        assert!(is_table_function(Dialect::Postgres, "generate_series"));
        assert!(is_table_function(Dialect::Sqlite, "json_each"));
    }
}
