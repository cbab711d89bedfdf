//! The policies the fuzz targets check under, chosen by one input byte, and the row filters the oracle expects.
//!
//! Invariants: every variant's policy builds (the specs are constants); a variant's [`Variant::recheck_policy`] has
//! the same allow-list and column restrictions and no row filter, and it permits every table and column the
//! variant's row filters read — so a row-filtered rewrite, checked again under it, must be accepted as it is.

use std::sync::LazyLock;

use datagenie_core::guard::{AttrValue, Policy};

/// The allow-list of the allow-list variants: `users` is column-restricted (and never row-filtered, since a filtered
/// subquery reads `SELECT *`), the others are whole tables.
pub const ALLOW_TABLES: &str = "orders, customers, t, users(id, name)";

/// The integer attribute bound into the `orders` filter.
pub const CUSTOMER_ID: i64 = 42;

/// The text attribute bound into the `customers` filter: a quote and a backslash, so quoting per dialect matters.
pub const REGION: &str = "AP'AC\\";

/// A literal a row filter binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Literal {
    Integer(i64),
    Text(&'static str),
}

/// One row filter as the oracle sees it: every read of `table` must go through
/// `(SELECT * FROM table WHERE <table>.<column> = <value>)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filter {
    pub table: &'static str,
    pub column: &'static str,
    pub value: Literal,
}

const ORDERS_FILTER: Filter = Filter { table: "orders", column: "customer_id", value: Literal::Integer(CUSTOMER_ID) };
const CUSTOMERS_FILTER: Filter = Filter { table: "customers", column: "region", value: Literal::Text(REGION) };

/// The policy variants, picked by `byte % 4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `Policy::default()`.
    Default,
    /// [`ALLOW_TABLES`]: listed tables only, `users` restricted to two columns.
    AllowList,
    /// Row filters on `orders` (integer attribute) and `customers` (text attribute); every table allowed.
    RowFilter,
    /// [`ALLOW_TABLES`] plus the `orders` row filter.
    AllowListRowFilter,
}

impl Variant {
    pub const ALL: [Variant; 4] =
        [Variant::Default, Variant::AllowList, Variant::RowFilter, Variant::AllowListRowFilter];

    pub fn from_byte(byte: u8) -> Variant {
        Variant::ALL[usize::from(byte) % Variant::ALL.len()]
    }

    /// The byte that selects this variant (the inverse of [`Variant::from_byte`] modulo 4).
    pub fn byte(self) -> u8 {
        match self {
            Variant::Default => 0,
            Variant::AllowList => 1,
            Variant::RowFilter => 2,
            Variant::AllowListRowFilter => 3,
        }
    }

    /// The policy a query is checked under.
    pub fn policy(self) -> &'static Policy {
        &POLICIES[usize::from(self.byte())].0
    }

    /// The same allow-list without row filters: what an accepted query's text is checked again under.
    pub fn recheck_policy(self) -> &'static Policy {
        &POLICIES[usize::from(self.byte())].1
    }

    /// The row filters this variant's policy holds.
    pub fn filters(self) -> &'static [Filter] {
        match self {
            Variant::Default | Variant::AllowList => &[],
            Variant::RowFilter => &[ORDERS_FILTER, CUSTOMERS_FILTER],
            Variant::AllowListRowFilter => &[ORDERS_FILTER],
        }
    }
}

/// `(policy, recheck policy)` per variant, in [`Variant::byte`] order; built once.
static POLICIES: LazyLock<Vec<(Policy, Policy)>> = LazyLock::new(|| {
    Variant::ALL
        .iter()
        .map(|&v| {
            let base = build_base(v);
            let filtered = v.filters().iter().fold(base.clone(), add_filter);
            (filtered, base)
        })
        .collect()
});

fn build_base(variant: Variant) -> Policy {
    match variant {
        Variant::Default | Variant::RowFilter => Policy::default(),
        Variant::AllowList | Variant::AllowListRowFilter => match Policy::default().allow_tables_spec(ALLOW_TABLES) {
            Ok(policy) => policy,
            Err(e) => panic!("the constant allow-list {ALLOW_TABLES:?} is invalid: {e}"),
        },
    }
}

fn add_filter(policy: Policy, filter: &Filter) -> Policy {
    let expr = format!("{} = {{user.{}}}", filter.column, filter.column);
    let value = match filter.value {
        Literal::Integer(n) => AttrValue::Integer(n),
        Literal::Text(s) => AttrValue::Text(s.to_string()),
    };
    match policy.row_filter(filter.table, &expr) {
        Ok(p) => p.user_attribute(filter.column, value),
        Err(e) => panic!("the constant row filter {expr:?} is invalid: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_select_every_variant_and_round_trip() {
        for v in Variant::ALL {
            assert_eq!(Variant::from_byte(v.byte()), v);
            assert_eq!(Variant::from_byte(v.byte() + 4), v);
        }
        assert_eq!(Variant::from_byte(255), Variant::AllowListRowFilter);
    }

    #[test]
    fn recheck_policies_drop_only_the_row_filters() {
        for v in Variant::ALL {
            assert_eq!(v.policy() == v.recheck_policy(), v.filters().is_empty(), "{v:?}");
        }
        assert_eq!(Variant::AllowListRowFilter.recheck_policy(), Variant::AllowList.policy());
        assert_eq!(Variant::RowFilter.recheck_policy(), Variant::Default.policy());
    }
}
