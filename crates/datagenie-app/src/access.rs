//! What one user may do on one stored connection, as the pipeline needs it: the guard's [`Policy`] (schemas, tables,
//! columns, row filters), the asker's attributes for `{user.…}` placeholders, row and time limits, and whether
//! personal data may be shown unmasked. Built from the user's role and their `connection_permissions` row; every
//! question a server answers goes through here, so a grant is enforced by the guard, not by the prompt.

use std::collections::BTreeMap;
use std::time::Duration;

use datagenie_core::guard::{self, AttrValue, Policy};
use datagenie_core::schema::Schema;
use datagenie_core::{Error, ErrorCode};
use datagenie_store::model::{Permission, Role, User};

use crate::ask::Requester;

/// A user's access to one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub policy: Policy,
    pub requester: Requester,
    /// At most this many rows (the permission's cap), when it has one.
    pub max_rows: Option<usize>,
    /// At most this long per query, when the permission says.
    pub timeout: Option<Duration>,
    pub unmask: bool,
}

impl Access {
    /// `limit` lowered to the permission's row cap.
    pub fn rows(&self, limit: usize) -> usize {
        self.max_rows.map_or(limit, |cap| limit.min(cap))
    }

    /// `limit` lowered to the permission's time cap.
    pub fn time(&self, limit: Duration) -> Duration {
        self.timeout.map_or(limit, |cap| limit.min(cap))
    }
}

/// The access of `user` to the connection named `connection` (for messages) under `permission` (their row, if
/// any). Admins may query every connection, within their own permission row when they have one. Anyone else needs a
/// row with `can_query`. Errors: `forbidden` (no grant), `invalid_config` (a stored grant that does not parse — an
/// admin must fix it; the question is not answered unfiltered).
pub fn access_for(user: &User, connection: &str, permission: Option<&Permission>) -> Result<Access, Error> {
    let requester = requester(user, permission)?;
    let Some(p) = permission else {
        if user.role == Role::Admin {
            return Ok(Access { policy: Policy::default(), requester, max_rows: None, timeout: None, unmask: false });
        }
        return Err(Error::new(ErrorCode::Forbidden, format!("you have no access to the connection '{connection}'")));
    };
    if !p.can_query {
        return Err(Error::new(ErrorCode::Forbidden, format!("you may not query the connection '{connection}'")));
    }
    let stored = |e: Error| {
        Error::new(ErrorCode::InvalidConfig, format!("the permission on '{connection}' is invalid: {}", e.message))
    };
    let mut policy = Policy::default();
    for schema in p.allowed_schemas.iter().flatten() {
        policy = policy.allow_schema(schema);
    }
    if let Some(tables) = &p.allowed_tables {
        if tables.is_empty() {
            return Err(Error::new(
                ErrorCode::Forbidden,
                format!("you have been granted no table of the connection '{connection}'"),
            ));
        }
        for entry in tables {
            policy = policy.allow_tables_spec(entry).map_err(stored)?;
        }
    }
    for filter in &p.row_filters {
        policy = policy.row_filter(&filter.table, &filter.condition).map_err(stored)?;
    }
    let positive = |v: Option<i64>| v.filter(|n| *n > 0).map(|n| n as u64);
    Ok(Access {
        policy,
        requester,
        max_rows: positive(p.max_rows).map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        timeout: positive(p.max_seconds).map(Duration::from_secs),
        unmask: p.can_unmask,
    })
}

/// The asker for the pipeline: `{user.id}`, `{user.email}`, `{user.username}`, `{user.role}` and the permission's
/// own attributes (numbers, text, booleans, null — anything else is refused).
fn requester(user: &User, permission: Option<&Permission>) -> Result<Requester, Error> {
    let mut attributes = BTreeMap::from([
        ("id".to_string(), AttrValue::Text(user.id.clone())),
        ("email".to_string(), AttrValue::Text(user.email.clone())),
        ("username".to_string(), AttrValue::Text(user.username.clone())),
        ("role".to_string(), AttrValue::Text(user.role.as_str().to_string())),
    ]);
    for (name, value) in permission.map(|p| &p.attributes).into_iter().flatten() {
        let value = match value {
            serde_json::Value::String(s) => AttrValue::Text(s.clone()),
            serde_json::Value::Bool(b) => AttrValue::Bool(*b),
            serde_json::Value::Null => AttrValue::Null,
            serde_json::Value::Number(n) if n.as_i64().is_some() => AttrValue::Integer(n.as_i64().unwrap_or(0)),
            other => {
                return Err(Error::new(
                    ErrorCode::InvalidConfig,
                    format!("the attribute '{name}' must be text, a whole number, a boolean or null, not {other}"),
                ));
            }
        };
        attributes.insert(name.clone(), value);
    }
    Ok(Requester { id: user.id.clone(), attributes })
}

/// Checks a permission an admin is about to store: every table entry and row filter must parse, and attributes
/// must have usable values. The same rules [`access_for`] applies, reported before the grant is saved.
pub fn validate_permission(p: &Permission) -> Result<(), Error> {
    let probe = User {
        id: p.user_id.clone(),
        username: "probe".into(),
        email: "probe@example.invalid".into(),
        full_name: None,
        role: Role::Viewer,
        active: true,
        created_at: p.updated_at,
        updated_at: p.updated_at,
        last_login_at: None,
        preferences: serde_json::Value::Null,
        token_usage: 0,
        limits: Default::default(),
        tier: "free".into(),
    };
    let checked = Permission { can_query: true, ..p.clone() };
    match access_for(&probe, &p.connection_id, Some(&checked)) {
        Ok(_) => Ok(()),
        Err(e) if e.code == ErrorCode::InvalidConfig => Err(Error::new(ErrorCode::InvalidArgument, e.message)),
        // An empty table list is a valid (if useless) grant.
        Err(e) if e.code == ErrorCode::Forbidden => Ok(()),
        Err(e) => Err(e),
    }
}

/// The part of `schema` that `policy` lets a user read: the tables the guard lets them select from and, of those,
/// the columns it lets them select. The guard itself decides (`SELECT 1 FROM t`, `SELECT c FROM t`), so what a
/// user is shown and what they may query never disagree.
pub fn visible_schema(schema: &Schema, policy: &Policy) -> Schema {
    let dialect = schema.dialect;
    let policy = if policy.restricts_columns() { policy.clone().with_schema(schema) } else { policy.clone() };
    let mut visible = Schema { tables: Vec::new(), ..schema.clone() };
    for table in &schema.tables {
        let name = match &table.schema {
            Some(s) => format!("{}.{}", dialect.quote_ident(s), dialect.quote_ident(&table.name)),
            None => dialect.quote_ident(&table.name),
        };
        if guard::check(&format!("SELECT 1 FROM {name}"), dialect, &policy).is_err() {
            continue;
        }
        let mut t = table.clone();
        if policy.restricts_columns() {
            t.columns.retain(|c| {
                guard::check(&format!("SELECT {} FROM {name}", dialect.quote_ident(&c.name)), dialect, &policy).is_ok()
            });
            t.primary_key.retain(|k| t.columns.iter().any(|c| &c.name == k));
            t.foreign_keys.retain(|fk| fk.columns.iter().all(|k| t.columns.iter().any(|c| &c.name == k)));
        }
        visible.tables.push(t);
    }
    let names: Vec<(Option<String>, String)> =
        visible.tables.iter().map(|t| (t.schema.clone(), t.name.clone())).collect();
    // A foreign key to a table the user cannot see would name it: drop it.
    for t in &mut visible.tables {
        t.foreign_keys.retain(|fk| names.iter().any(|(_, n)| *n == fk.ref_table));
    }
    visible
}

#[cfg(test)]
mod tests {
    use super::*;
    use datagenie_core::Dialect;
    use datagenie_core::guard;
    use datagenie_store::model::{RowFilter, Timestamp};

    fn user(role: Role) -> User {
        User {
            id: "u-1".into(),
            username: "kim".into(),
            email: "kim@example.com".into(),
            full_name: None,
            role,
            active: true,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            last_login_at: None,
            preferences: serde_json::Value::Null,
            token_usage: 0,
            limits: Default::default(),
            tier: "free".into(),
        }
    }

    fn permission() -> Permission {
        Permission {
            user_id: "u-1".into(),
            connection_id: "c-1".into(),
            can_query: true,
            allowed_schemas: None,
            allowed_tables: Some(vec!["orders".into(), "customers(id, name)".into()]),
            row_filters: vec![RowFilter { table: "orders".into(), condition: "region = {user.region}".into() }],
            attributes: BTreeMap::from([("region".to_string(), serde_json::json!("APAC"))]),
            max_rows: Some(100),
            max_seconds: Some(5),
            can_unmask: false,
            updated_at: Timestamp::now(),
        }
    }

    fn check(access: &Access, sql: &str) -> Result<String, Error> {
        let mut policy = access.policy.clone();
        for (k, v) in &access.requester.attributes {
            policy = policy.user_attribute(k, v.clone());
        }
        guard::check(sql, Dialect::Sqlite, &policy).map(|g| g.as_str().to_string())
    }

    #[test]
    fn a_grant_becomes_the_guards_policy() {
        let access = access_for(&user(Role::Viewer), "shop", Some(&permission())).expect("granted");
        assert_eq!((access.rows(1000), access.rows(10)), (100, 10));
        assert_eq!(access.time(Duration::from_secs(30)), Duration::from_secs(5));
        let filtered = check(&access, "SELECT count(*) FROM orders").expect("orders");
        assert!(filtered.contains("'APAC'"), "{filtered}");
        assert!(check(&access, "SELECT name FROM customers").is_ok());
        let e = check(&access, "SELECT email FROM customers").expect_err("column");
        assert_eq!(e.code, ErrorCode::ForbiddenColumn);
        let e = check(&access, "SELECT * FROM payments").expect_err("table");
        assert_eq!(e.code, ErrorCode::ForbiddenTable);
        assert!(e.message.contains("payments"), "{}", e.message);
    }

    #[test]
    fn without_a_grant_only_admins_may_query() {
        let e = access_for(&user(Role::User), "shop", None).expect_err("no grant");
        assert_eq!(e.code, ErrorCode::Forbidden);
        assert!(e.message.contains("'shop'"));
        let admin = access_for(&user(Role::Admin), "shop", None).expect("admin");
        assert!(check(&admin, "SELECT * FROM payments").is_ok());
        let mut no_query = permission();
        no_query.can_query = false;
        assert_eq!(
            access_for(&user(Role::Viewer), "shop", Some(&no_query)).err().map(|e| e.code),
            Some(ErrorCode::Forbidden)
        );
        let mut nothing = permission();
        nothing.allowed_tables = Some(vec![]);
        assert_eq!(
            access_for(&user(Role::Viewer), "shop", Some(&nothing)).err().map(|e| e.code),
            Some(ErrorCode::Forbidden)
        );
    }

    #[test]
    fn the_users_own_attributes_fill_placeholders() {
        let mut p = permission();
        p.row_filters = vec![RowFilter { table: "orders".into(), condition: "owner_email = {user.email}".into() }];
        let access = access_for(&user(Role::Viewer), "shop", Some(&p)).expect("granted");
        let sql = check(&access, "SELECT * FROM orders").expect("filtered");
        assert!(sql.contains("'kim@example.com'"), "{sql}");
    }

    #[test]
    fn broken_grants_are_refused_not_ignored() {
        let mut bad_table = permission();
        bad_table.allowed_tables = Some(vec!["customers(id".into()]);
        let mut bad_attr = permission();
        bad_attr.attributes.insert("weights".into(), serde_json::json!([1, 2]));
        let mut bad_filter = permission();
        bad_filter.row_filters = vec![RowFilter { table: "orders".into(), condition: "   ".into() }];
        for p in [bad_table, bad_attr, bad_filter] {
            let e = access_for(&user(Role::Viewer), "shop", Some(&p)).expect_err("broken");
            assert_eq!(e.code, ErrorCode::InvalidConfig, "{}", e.message);
            assert_eq!(validate_permission(&p).err().map(|e| e.code), Some(ErrorCode::InvalidArgument));
        }
        assert!(validate_permission(&permission()).is_ok());
    }
}
