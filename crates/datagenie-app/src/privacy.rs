//! Personal data in results and prompts (seed 000 `mask_personal_data`). Columns are classified as email, phone,
//! card number, person name, national ID or address — by the policy's overrides, by the source column in the schema
//! (name and sample values), by the result column's own name and by its values — and masked for users without the
//! unmask permission. Sample values of personal columns are masked before a schema reaches an LLM prompt whenever
//! masking is on, so a hosted model never sees them.

use std::collections::BTreeMap;

use datagenie_core::guard::TableRef;
use datagenie_core::pii::{self, PiiKind, PiiPolicy};
use datagenie_core::schema::Schema;
use datagenie_core::value::ResultSet;
use datagenie_core::{Error, ErrorCode};

/// Masking settings for one connection.
#[derive(Debug, Clone, Default)]
pub struct Privacy {
    /// Mask personal data (the user lacks the unmask permission).
    pub mask: bool,
    pub policy: PiiPolicy,
}

/// A result column that was masked, and as what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedColumn {
    pub column: String,
    pub kind: PiiKind,
}

impl Privacy {
    /// From configuration: `columns` maps `column`, `table.column` or `schema.table.column` to a kind
    /// (`email`, `phone`, `card_number`, `person_name`, `national_id`, `address`) or `none`.
    pub fn from_config(mask: bool, columns: &BTreeMap<String, String>) -> Result<Privacy, Error> {
        let mut policy = PiiPolicy::new();
        for (key, kind) in columns {
            let (key, kind) = PiiPolicy::parse_override(&format!("{key}={kind}"))
                .map_err(|e| Error::new(ErrorCode::InvalidConfig, format!("pii.columns: {}", e.message)))?;
            policy
                .set(&key, kind)
                .map_err(|e| Error::new(ErrorCode::InvalidConfig, format!("pii.columns: {}", e.message)))?;
        }
        Ok(Privacy { mask, policy })
    }

    /// The classification of every column of `schema` (what `datagenie schema` shows).
    pub fn classify_schema(&self, schema: &Schema) -> BTreeMap<(String, String), PiiKind> {
        let mut out = BTreeMap::new();
        for t in &schema.tables {
            for c in &t.columns {
                let samples: Vec<&str> = c.samples.iter().map(String::as_str).collect();
                if let Some(kind) = self.policy.classify_column(Some(&t.name), &c.name, &samples) {
                    out.insert((t.name.clone(), c.name.clone()), kind);
                }
            }
        }
        out
    }

    /// Masks the sample values of personal columns, so prompts carry their shape but not their content.
    pub fn redact_samples(&self, schema: &mut Schema) {
        if !self.mask {
            return;
        }
        for t in &mut schema.tables {
            for c in &mut t.columns {
                let samples: Vec<&str> = c.samples.iter().map(String::as_str).collect();
                if let Some(kind) = self.policy.classify_column(Some(&t.name), &c.name, &samples) {
                    let masked: Vec<String> = c.samples.iter().map(|s| pii::mask_text(kind, s)).collect();
                    c.samples = masked;
                }
            }
        }
    }

    /// Masks personal columns of `result` in place and returns which were masked. A result column takes the
    /// classification of a same-named column of a table the query read (the schema knows its samples), else its
    /// own name and values decide.
    pub fn mask_result(&self, schema: &Schema, tables: &[TableRef], result: &mut ResultSet) -> Vec<MaskedColumn> {
        if !self.mask || result.rows.is_empty() {
            return Vec::new();
        }
        let hint = |column: &str| -> Option<PiiKind> {
            tables.iter().filter_map(|r| schema.table(&r.name)).find_map(|t| {
                let c = t.column(column)?;
                let samples: Vec<&str> = c.samples.iter().map(String::as_str).collect();
                self.policy.classify_column(Some(&t.name), &c.name, &samples)
            })
        };
        let kinds = pii::classify_result(&result.columns, &result.rows, hint, &self.policy);
        pii::mask_result(result, &kinds);
        result
            .columns
            .iter()
            .zip(&kinds)
            .filter_map(|(c, k)| k.map(|kind| MaskedColumn { column: c.name.clone(), kind }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datagenie_core::Dialect;
    use datagenie_core::schema::{Column, Table, TableKind};
    use datagenie_core::value::{ResultColumn, Value};

    fn schema() -> Schema {
        let col = |name: &str, samples: &[&str]| Column {
            name: name.into(),
            data_type: "TEXT".into(),
            nullable: true,
            comment: None,
            samples: samples.iter().map(|s| s.to_string()).collect(),
        };
        Schema {
            dialect: Dialect::Sqlite,
            server_version: "SQLite".into(),
            tables: vec![Table {
                schema: None,
                name: "customers".into(),
                kind: TableKind::Table,
                comment: None,
                columns: vec![
                    col("contact", &["minjun@example.com", "seoyeon@naver.com"]),
                    col("city", &["서울", "부산"]),
                ],
                primary_key: vec![],
                foreign_keys: vec![],
                row_count: None,
            }],
        }
    }

    fn result(column: &str, values: &[&str]) -> ResultSet {
        ResultSet {
            columns: vec![ResultColumn { name: column.into(), decl_type: None }],
            rows: values.iter().map(|v| vec![Value::Text(v.to_string())]).collect(),
            truncated: false,
        }
    }

    #[test]
    fn masks_by_source_column_and_by_values() {
        let p = Privacy { mask: true, policy: PiiPolicy::new() };
        let tables = [TableRef { schema: None, name: "customers".into() }];
        let mut r = result("contact", &["minjun@example.com"]);
        let masked = p.mask_result(&schema(), &tables, &mut r);
        assert_eq!(masked, [MaskedColumn { column: "contact".into(), kind: PiiKind::Email }]);
        assert_eq!(r.rows[0][0], Value::Text("m***@example.com".into()));
        // An alias hides the name; the values still give it away.
        let mut r = result("x", &["010-1234-5678", "010-9876-5432"]);
        assert_eq!(p.mask_result(&schema(), &tables, &mut r).len(), 1);
        assert!(r.rows.iter().all(|row| row[0] != Value::Text("010-1234-5678".into())));
        // Not personal: untouched.
        let mut r = result("city", &["서울"]);
        assert!(p.mask_result(&schema(), &tables, &mut r).is_empty());
        assert_eq!(r.rows[0][0], Value::Text("서울".into()));
    }

    #[test]
    fn unmask_permission_and_overrides() {
        let tables = [TableRef { schema: None, name: "customers".into() }];
        let off = Privacy { mask: false, policy: PiiPolicy::new() };
        let mut r = result("contact", &["minjun@example.com"]);
        assert!(off.mask_result(&schema(), &tables, &mut r).is_empty());
        assert_eq!(r.rows[0][0], Value::Text("minjun@example.com".into()));

        let cols = BTreeMap::from([("customers.contact".to_string(), "none".to_string())]);
        let p = Privacy::from_config(true, &cols).expect("valid");
        assert!(p.classify_schema(&schema()).is_empty(), "the override turns detection off");
        let bad = BTreeMap::from([("customers.contact".to_string(), "shoe_size".to_string())]);
        assert_eq!(Privacy::from_config(true, &bad).map(|_| ()).map_err(|e| e.code), Err(ErrorCode::InvalidConfig));
    }

    #[test]
    fn prompt_samples_are_masked() {
        let p = Privacy { mask: true, policy: PiiPolicy::new() };
        let mut s = schema();
        p.redact_samples(&mut s);
        assert_eq!(s.tables[0].columns[0].samples, ["m***@example.com", "s***@naver.com"]);
        assert_eq!(s.tables[0].columns[1].samples, ["서울", "부산"]);
    }
}
