//! Credits (seed 004): a balance per user and its immutable ledger, changed together in the writer's transaction.

use rusqlite::{OptionalExtension, Row, params};

use super::sql::{now, page_of, to_i64};
use super::{Db, R, invalid, not_found};
use crate::model::*;
use crate::page;

const TX_COLUMNS: &str =
    "id, user_id, amount, kind, history_id, description, balance_after, created_by, created_at, seq";

fn tx_row(r: &Row<'_>) -> rusqlite::Result<(CreditTransaction, i64)> {
    Ok((
        CreditTransaction {
            id: r.get(0)?,
            user_id: r.get(1)?,
            amount: r.get(2)?,
            kind: r.get(3)?,
            history_id: r.get(4)?,
            description: r.get(5)?,
            balance_after: r.get(6)?,
            created_by: r.get(7)?,
            created_at: r.get(8)?,
        },
        r.get(9)?,
    ))
}

fn insufficient(balance: i64, amount: i64) -> super::Fail {
    super::Fail::App(datagenie_core::Error::new(
        datagenie_core::ErrorCode::InsufficientCredits,
        format!("not enough credits: {balance} left, {} needed", -amount),
    ))
}

/// Appends one ledger row moving the balance from `balance` by `amount`; the balance after.
fn append(tx: &Db, change: &CreditChange, kind: CreditKind, amount: i64, balance: i64) -> R<CreditTransaction> {
    let after = balance + amount;
    if after < 0 {
        return Err(insufficient(balance, amount));
    }
    let row = CreditTransaction {
        id: new_id(),
        user_id: change.user_id.clone(),
        amount,
        kind,
        history_id: if kind == CreditKind::MonthlyGrant { None } else { change.history_id.clone() },
        description: if kind == CreditKind::MonthlyGrant { None } else { change.description.clone() },
        balance_after: after,
        created_by: if kind == CreditKind::MonthlyGrant { None } else { change.by.clone() },
        created_at: now(),
    };
    tx.prepare_cached(
        "INSERT INTO credit_transactions (id, user_id, amount, kind, history_id, description, balance_after,
             created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        row.id,
        row.user_id,
        row.amount,
        row.kind,
        row.history_id,
        row.description,
        row.balance_after,
        row.created_by,
        row.created_at
    ])?;
    Ok(row)
}

pub(super) fn apply(tx: &Db, change: CreditChange) -> R<CreditTransaction> {
    if change.amount == 0 {
        return Err(invalid("a credit change needs an amount other than 0"));
    }
    let known: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM users WHERE id = ?1")?
        .query_row([&change.user_id], |r| r.get(0))
        .optional()?;
    if known.is_none() {
        return Err(not_found(format!("no user with the id '{}'", change.user_id)));
    }
    let current: Option<(i64, Option<Timestamp>)> = tx
        .prepare_cached("SELECT balance, last_granted_at FROM credit_balances WHERE user_id = ?1")?
        .query_row([&change.user_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (mut balance, mut granted) = current.unwrap_or((0, None));
    if let Some((amount, period)) = change.monthly
        && granted.is_none_or(|g| g < period)
    {
        if amount > 0 {
            balance = append(tx, &change, CreditKind::MonthlyGrant, amount, balance)?.balance_after;
        }
        granted = Some(period);
    }
    let row = append(tx, &change, change.kind, change.amount, balance)?;
    tx.prepare_cached(
        "INSERT INTO credit_balances (user_id, balance, last_granted_at, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id) DO UPDATE SET balance = excluded.balance, last_granted_at = excluded.last_granted_at,
             updated_at = excluded.updated_at",
    )?
    .execute(params![change.user_id, row.balance_after, granted, row.created_at])?;
    Ok(row)
}

pub(super) fn balance(tx: &Db, user_id: &str) -> R<Option<CreditBalance>> {
    Ok(tx
        .prepare_cached("SELECT user_id, balance, last_granted_at, updated_at FROM credit_balances WHERE user_id = ?1")?
        .query_row([user_id], |r| {
            Ok(CreditBalance {
                user_id: r.get(0)?,
                balance: r.get(1)?,
                last_granted_at: r.get(2)?,
                updated_at: r.get(3)?,
            })
        })
        .optional()?)
}

pub(super) fn list(tx: &Db, user_id: &str, req: &PageRequest) -> R<Page<CreditTransaction>> {
    let limit = page::limit(req);
    let before = match &req.cursor {
        Some(c) => page::decode("credits", c)?
            .0
            .parse::<i64>()
            .map_err(|_| invalid("the page cursor is not valid for this list"))?,
        None => i64::MAX,
    };
    let sql = format!(
        "SELECT {TX_COLUMNS} FROM credit_transactions WHERE user_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
    );
    let rows = tx
        .prepare_cached(&sql)?
        .query_map(params![user_id, before, to_i64(limit + 1)], tx_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let page = page_of(rows, limit, |(t, seq)| page::encode("credits", &seq.to_string(), &t.id));
    Ok(Page { items: page.items.into_iter().map(|(t, _)| t).collect(), next_cursor: page.next_cursor })
}
