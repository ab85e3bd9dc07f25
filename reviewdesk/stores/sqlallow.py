"""The allow-lists of queue SQL (reviewdesk.stores.sqlcheck): operators, scalar functions, types, the
aggregates of trace and session queues, and what is refused as unreproducible."""

OPERATORS = {
    "+", "-", "*", "/", "//", "%", "**", "^", "@", "&", "|", "<<", ">>", "~", "!__postfix", "xor",
    "||", "~~", "!~~", "~~*", "!~~*", "~~~", "^@", "->>", "@>", "<@", "&&",
}  # fmt: skip
FUNCTIONS = {
    # text
    "lower", "upper", "lcase", "ucase", "length", "len", "strlen", "char_length", "character_length",
    "octet_length", "bit_length", "concat", "concat_ws", "contains", "starts_with", "ends_with", "prefix",
    "suffix", "left", "right", "left_grapheme", "right_grapheme", "length_grapheme", "substr", "substring",
    "substring_grapheme", "trim", "ltrim", "rtrim", "lpad", "rpad", "replace", "reverse", "split", "split_part",
    "str_split", "string_split", "string_to_array", "str_split_regex", "string_split_regex", "regexp_matches",
    "regexp_full_match", "regexp_extract", "regexp_extract_all", "regexp_replace", "regexp_split_to_array",
    "regexp_escape", "like_escape", "not_like_escape", "ilike_escape", "not_ilike_escape", "instr", "position",
    "strpos", "ascii", "chr", "unicode", "ord", "format", "printf", "translate", "strip_accents", "nfc_normalize",
    "levenshtein", "damerau_levenshtein", "hamming", "mismatches", "jaccard", "jaro_similarity",
    "jaro_winkler_similarity", "md5", "md5_number", "md5_number_lower", "md5_number_upper", "sha1", "sha256",
    "hash", "base64", "to_base64", "from_base64", "hex", "to_hex", "unhex", "from_hex", "bin", "to_binary",
    "from_binary", "unbin", "encode", "decode", "url_encode", "url_decode", "array_to_string",
    # numbers and conditions
    "abs", "sign", "ceil", "ceiling", "floor", "round", "round_even", "roundbankers", "trunc", "even", "sqrt",
    "cbrt", "exp", "ln", "log", "log10", "log2", "pow", "power", "mod", "fmod", "gcd", "lcm",
    "greatest_common_divisor", "least_common_multiple", "greatest", "least", "pi", "sin", "cos", "tan", "asin",
    "acos", "atan", "atan2", "degrees", "radians", "isnan", "isinf", "isfinite", "add", "subtract", "multiply",
    "divide", "factorial", "xor", "bit_count", "if", "nullif", "typeof",
    # dates and times (none reads the clock)
    "date_part", "datepart", "date_trunc", "datetrunc", "date_diff", "datediff", "date_sub", "datesub",
    "date_add", "year", "month", "day", "hour", "minute", "second", "millisecond", "microsecond", "week",
    "weekday", "weekofyear", "dayofweek", "dayofmonth", "dayofyear", "dayname", "monthname", "quarter", "isodow",
    "isoyear", "yearweek", "epoch", "epoch_ms", "epoch_us", "epoch_ns", "era", "century", "decade", "millennium",
    "julian", "last_day", "make_date", "make_time", "make_timestamp", "make_timestamptz", "strftime", "strptime",
    "try_strptime", "time_bucket", "to_timestamp", "timezone", "to_days", "to_hours", "to_minutes",
    "to_seconds", "to_milliseconds", "to_microseconds", "to_weeks", "to_months", "to_years",
    # JSON
    "json", "json_extract", "json_extract_path", "json_extract_string", "json_extract_path_text", "json_value",
    "json_exists", "json_type", "json_valid", "json_array_length", "json_keys", "json_contains",
    "json_structure", "json_object", "json_array", "json_quote", "json_merge_patch", "json_transform",
    "json_transform_strict", "from_json", "from_json_strict", "to_json", "array_to_json", "row_to_json",
    # lists, structs, maps
    "list_value", "list_pack", "array_value", "list_extract", "list_element", "array_extract", "element_at",
    "list_slice", "array_slice", "list_contains", "list_has", "array_contains", "array_has", "list_has_any",
    "list_has_all", "array_has_any", "array_has_all", "list_position", "list_indexof", "array_position",
    "array_indexof", "array_length", "cardinality", "list_concat", "list_cat", "array_concat", "array_cat",
    "list_distinct", "array_distinct", "list_unique", "array_unique", "list_sort", "array_sort",
    "list_reverse_sort", "array_reverse_sort", "list_reverse", "array_reverse", "list_zip", "array_zip",
    "flatten", "list_intersect", "array_intersect", "list_select", "array_select", "list_where", "array_where",
    "list_grade_up", "array_grade_up", "list_append", "array_append", "array_push_back", "list_prepend",
    "array_prepend", "array_push_front", "array_pop_back", "array_pop_front", "list_count", "list_sum",
    "list_min", "list_max", "list_avg", "list_first", "list_last", "list_bool_and", "list_bool_or",
    "list_string_agg", "struct_pack", "row", "struct_extract", "struct_extract_at", "struct_insert", "map",
    "map_extract", "map_extract_value", "map_keys", "map_values", "map_entries", "map_contains",
    "map_from_entries",
}  # fmt: skip
# Functions whose lambda arguments (`x -> ...`, `lambda x: ...`) take parameters; elsewhere `a -> b` is JSON.
LAMBDA_FUNCTIONS = {
    "list_transform", "list_apply", "array_transform", "array_apply", "apply", "list_filter", "array_filter",
    "filter", "list_reduce", "array_reduce", "reduce",
}  # fmt: skip
FUNCTIONS |= LAMBDA_FUNCTIONS
TYPES = {
    "BOOLEAN", "BOOL", "TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
    "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "REAL", "DOUBLE", "DECIMAL", "NUMERIC", "VARCHAR", "TEXT",
    "STRING", "CHAR", "DATE", "TIME", "TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", "INTERVAL",
    "JSON", "UUID", "BLOB", "LIST", "ARRAY", "STRUCT", "MAP",
}  # fmt: skip
OPERATOR_NODES = {
    "OPERATOR_NOT", "OPERATOR_IS_NULL", "OPERATOR_IS_NOT_NULL", "COMPARE_IN", "COMPARE_NOT_IN",
    "OPERATOR_COALESCE", "OPERATOR_TRY", "ARRAY_EXTRACT", "ARRAY_SLICE", "STRUCT_EXTRACT", "ARRAY_CONSTRUCTOR",
}  # fmt: skip
COLLATIONS = {"nocase", "noaccent", "nfc", "binary"}
UNREPRODUCIBLE = {
    "random", "uuid", "gen_random_uuid", "uuidv4", "uuidv7", "setseed", "now", "today", "current_date",
    "current_time", "current_timestamp", "localtime", "localtimestamp", "get_current_time",
    "get_current_timestamp", "transaction_timestamp", "current_localtime", "current_localtimestamp", "age", "ago",
    "nextval", "currval",
}  # fmt: skip
# Aggregates a trace or session queue may use over a unit's runs: deterministic ones only (no first, list, ...).
AGGREGATES = {
    "count", "count_star", "count_if", "sum", "avg", "mean", "min", "max", "bool_or", "bool_and", "median",
    "quantile_cont", "quantile_disc", "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop",
    "product", "arg_min", "arg_max", "min_by", "max_by",
}  # fmt: skip
