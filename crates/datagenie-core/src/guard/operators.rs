//! Per-dialect allow-lists of operators: the engine's own built-in operators that only compute a value from their
//! operands — no writes, no session state, no IO. Anything not listed is refused (`forbidden_construct`), however
//! sqlparser parsed it:
//!
//! - user-defined operators: `OPERATOR(schema.op)` and PostgreSQL operator names sqlparser does not know
//!   (`BinaryOperator::Custom`, e.g. `<~>`, `<<=`) — an operator runs whatever function its creator chose;
//! - MySQL's `:=`, which assigns a session variable;
//! - another dialect's operators that sqlparser also accepts in this one (`a ~ b` or `a @> b` under SQLite and MySQL,
//!   `a <=> b` and `XOR` under PostgreSQL, `^` under SQLite, which has no such operator);
//! - any operator a later sqlparser adds, until it is reviewed and listed here.
//!
//! Deliberately absent although read-only:
//! - PostgreSQL's geometric operators (`<->`, `##`, `&<`, `&>`, `<<|`, `|>>`, `&<|`, `|&>`, `<^`, `>^`, `?#`, `?-`,
//!   `?-|`, `?||`, `@` between shapes, `~=`; prefix `@-@`, `@@`, `#`, `?-`, `?|`): no analytic question needs them,
//!   and extensions reuse several of these names for their own types (`<->` in pg_trgm and PostGIS), so an allowed
//!   name would not even mean a built-in;
//! - PostgreSQL's factorials, prefix `!!` and postfix `!`: removed in PostgreSQL 14, so on a current server these
//!   names can only be user-defined operators;
//! - SQLite's `REGEXP`: SQLite has no `regexp()`; `x REGEXP y` calls whatever function the application registered
//!   under that name (the SQLite connector's authorizer refuses that call too).
//!
//! Why the less obvious ones are listed:
//! - SQLite `MATCH` and `GLOB` are the built-in `match()` (full-text search) and `glob()`; `->`/`->>` are SQLite's
//!   JSON extraction (3.38+). The SQLite connector's authorizer allows exactly these operator functions.
//! - MySQL `->`/`->>` are `JSON_EXTRACT` and `JSON_UNQUOTE(JSON_EXTRACT(…))` on a column; `<=>` is null-safe
//!   equality; `DIV` integer division; `&&` is sqlparser's `AND`; `<<`/`>>` are shifts (sqlparser names them
//!   `PGBitwiseShift…`). `||` is `OR` in MySQL unless `PIPES_AS_CONCAT` is set — read-only either way.
//! - PostgreSQL: `^` is exponentiation and `#` bitwise XOR; `<<`/`>>` also mean "strictly left/right of" (ranges)
//!   and containment (`inet`); `~ ~* !~ !~*` regular-expression matches and `~~ ~~* !~~ !~~*` (`LIKE`, `ILIKE`) —
//!   a pathological pattern costs time, which the statement time limit bounds, not state; `^@` starts-with;
//!   JSON: `-> ->> #> #>>` extract, `@> <@` contain, `? ?| ?&` test keys, `@?` and `@@` evaluate a JSON path (a
//!   path can only read the value; `@@` is also text-search match), `#-` returns a copy of the value without a
//!   path (nothing is written, like `jsonb_set`, which the function list allows); `&&` overlap (arrays, ranges);
//!   `OVERLAPS` (standard, two periods). Prefix `|/` square root, `||/` cube root, `@` absolute value.
//!
//! A built-in operator name can still be overloaded for other operand types by a database's owner (PostgreSQL picks
//! the best match across the search path, which connectors pin to start with `pg_catalog`); what the guard
//! controls is that the SQL names no operator outside these lists.

use sqlparser::ast::{BinaryOperator, UnaryOperator};

use crate::dialect::Dialect;
use crate::error::{Error, ErrorCode};

/// True when `op` is on `dialect`'s allow-list of binary operators.
pub(crate) fn is_allowed_binary(dialect: Dialect, op: &BinaryOperator) -> bool {
    use BinaryOperator as B;
    let everywhere = matches!(
        op,
        B::Plus
            | B::Minus
            | B::Multiply
            | B::Divide
            | B::Modulo
            | B::Eq
            | B::NotEq
            | B::Lt
            | B::LtEq
            | B::Gt
            | B::GtEq
            | B::And
            | B::Or
            | B::StringConcat
            | B::BitwiseAnd
            | B::BitwiseOr
    );
    everywhere
        || match dialect {
            Dialect::Sqlite => matches!(op, B::Glob | B::Match | B::Arrow | B::LongArrow),
            Dialect::Mysql => matches!(
                op,
                B::Xor
                    | B::MyIntegerDivide
                    | B::Spaceship
                    | B::BitwiseXor
                    | B::PGBitwiseShiftLeft
                    | B::PGBitwiseShiftRight
                    | B::Arrow
                    | B::LongArrow
            ),
            Dialect::Postgres => matches!(
                op,
                B::PGExp
                    | B::PGBitwiseXor
                    | B::PGBitwiseShiftLeft
                    | B::PGBitwiseShiftRight
                    | B::PGRegexMatch
                    | B::PGRegexIMatch
                    | B::PGRegexNotMatch
                    | B::PGRegexNotIMatch
                    | B::PGLikeMatch
                    | B::PGILikeMatch
                    | B::PGNotLikeMatch
                    | B::PGNotILikeMatch
                    | B::PGStartsWith
                    | B::Arrow
                    | B::LongArrow
                    | B::HashArrow
                    | B::HashLongArrow
                    | B::HashMinus
                    | B::AtArrow
                    | B::ArrowAt
                    | B::Question
                    | B::QuestionAnd
                    | B::QuestionPipe
                    | B::AtQuestion
                    | B::AtAt
                    | B::PGOverlap
                    | B::Overlaps
            ),
        }
}

/// True when `op` is on `dialect`'s allow-list of unary (prefix and postfix) operators.
pub(crate) fn is_allowed_unary(dialect: Dialect, op: &UnaryOperator) -> bool {
    use UnaryOperator as U;
    matches!(op, U::Plus | U::Minus | U::Not | U::BitwiseNot)
        || (dialect == Dialect::Postgres && matches!(op, U::PGAbs | U::PGSquareRoot | U::PGCubeRoot))
}

/// Refuses a binary operator that is not on the dialect's list, naming it.
pub(crate) fn check_binary(dialect: Dialect, op: &BinaryOperator) -> Result<(), Error> {
    match (is_allowed_binary(dialect, op), op) {
        (true, _) => Ok(()),
        (false, BinaryOperator::Assignment) => Err(Error::new(
            ErrorCode::ForbiddenConstruct,
            "the assignment operator := is not allowed (it sets a session variable)",
        )),
        (false, _) => Err(refusal(dialect, op)),
    }
}

/// Refuses a unary operator that is not on the dialect's list, naming it.
pub(crate) fn check_unary(dialect: Dialect, op: &UnaryOperator) -> Result<(), Error> {
    match is_allowed_unary(dialect, op) {
        true => Ok(()),
        false => Err(refusal(dialect, op)),
    }
}

fn refusal(dialect: Dialect, op: &impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::ForbiddenConstruct,
        format!("the operator {op} is not allowed in {} (not a built-in read-only operator)", dialect.display_name()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIALECTS: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

    #[test]
    fn arithmetic_comparison_logic_and_concatenation_are_allowed_everywhere() {
        use BinaryOperator as B;
        for dialect in DIALECTS {
            for op in [B::Plus, B::Minus, B::Multiply, B::Divide, B::Modulo, B::Eq, B::NotEq, B::Lt, B::GtEq]
                .iter()
                .chain(&[B::And, B::Or, B::StringConcat, B::BitwiseAnd, B::BitwiseOr])
            {
                assert!(check_binary(dialect, op).is_ok(), "{op} in {dialect}");
            }
            for op in [UnaryOperator::Plus, UnaryOperator::Minus, UnaryOperator::Not, UnaryOperator::BitwiseNot] {
                assert!(check_unary(dialect, &op).is_ok(), "{op} in {dialect}");
            }
        }
    }

    #[test]
    fn user_defined_and_unknown_operators_are_refused_everywhere_naming_the_operator() {
        use BinaryOperator as B;
        let refused = [
            B::Custom("<~>".to_string()),
            B::PGCustomBinaryOperator(vec!["public".to_string(), "+".to_string()]),
            B::PGCustomBinaryOperator(vec!["pg_catalog".to_string(), "+".to_string()]),
            B::DuckIntegerDivide,
            B::LtDashGt,
            B::TildeEq,
            B::At,
        ];
        for dialect in DIALECTS {
            for op in &refused {
                let e = check_binary(dialect, op).err();
                assert_eq!(e.as_ref().map(|e| e.code), Some(ErrorCode::ForbiddenConstruct), "{op} in {dialect}");
                let message = e.map(|e| e.message).unwrap_or_default();
                assert!(message.contains(&format!("the operator {op} ")), "{message}");
            }
            for op in [UnaryOperator::PGPrefixFactorial, UnaryOperator::PGPostfixFactorial, UnaryOperator::AtDashAt] {
                assert_eq!(check_unary(dialect, &op).map_err(|e| e.code), Err(ErrorCode::ForbiddenConstruct));
            }
        }
    }

    #[test]
    fn assignment_is_refused_with_its_reason() {
        for dialect in DIALECTS {
            let e = check_binary(dialect, &BinaryOperator::Assignment).err().map(|e| e.message);
            assert!(e.is_some_and(|m| m.contains(":=") && m.contains("session variable")), "{dialect}");
        }
    }

    #[test]
    fn each_dialect_allows_only_its_own_operators() {
        use BinaryOperator as B;
        let cases: &[(B, [bool; 3])] = &[
            // (operator, [sqlite, postgres, mysql])
            (B::Glob, [true, false, false]),
            (B::Match, [true, false, false]),
            (B::Regexp, [false, false, false]),
            (B::Arrow, [true, true, true]),
            (B::LongArrow, [true, true, true]),
            (B::BitwiseXor, [false, false, true]),
            (B::PGExp, [false, true, false]),
            (B::PGBitwiseXor, [false, true, false]),
            (B::PGBitwiseShiftLeft, [false, true, true]),
            (B::Xor, [false, false, true]),
            (B::Spaceship, [false, false, true]),
            (B::MyIntegerDivide, [false, false, true]),
            (B::PGRegexMatch, [false, true, false]),
            (B::PGNotILikeMatch, [false, true, false]),
            (B::AtArrow, [false, true, false]),
            (B::HashMinus, [false, true, false]),
            (B::Question, [false, true, false]),
            (B::AtAt, [false, true, false]),
            (B::PGOverlap, [false, true, false]),
            (B::Overlaps, [false, true, false]),
        ];
        for (op, expected) in cases {
            for (dialect, allowed) in DIALECTS.into_iter().zip(expected) {
                assert_eq!(is_allowed_binary(dialect, op), *allowed, "{op} in {dialect}");
            }
        }
        for op in [UnaryOperator::PGAbs, UnaryOperator::PGSquareRoot, UnaryOperator::PGCubeRoot] {
            assert_eq!(DIALECTS.map(|d| is_allowed_unary(d, &op)), [false, true, false], "{op}");
        }
    }
}
