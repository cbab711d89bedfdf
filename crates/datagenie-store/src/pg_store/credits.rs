//! Credits (seed 004) on PostgreSQL: the balance row is locked (`FOR UPDATE`, created first when missing) before it
//! is read, so concurrent changes from any number of servers apply one after the other and the balance always
//! equals the ledger's sum.

use tokio_postgres::Row;

use super::sql::{execute, now, page_of, query, query_opt, to_i64};
use super::{Fail, R, Tx, invalid, not_found};
use crate::model::*;
use crate::page;

const TX_COLUMNS: &str =
    "id, user_id, amount, kind, history_id, description, balance_after, created_by, created_at, seq";

fn tx_row(r: &Row) -> R<(CreditTransaction, i64)> {
    Ok((
        CreditTransaction {
            id: r.try_get(0)?,
            user_id: r.try_get(1)?,
            amount: r.try_get(2)?,
            kind: r.try_get(3)?,
            history_id: r.try_get(4)?,
            description: r.try_get(5)?,
            balance_after: r.try_get(6)?,
            created_by: r.try_get(7)?,
            created_at: r.try_get(8)?,
        },
        r.try_get(9)?,
    ))
}

fn insufficient(balance: i64, amount: i64) -> Fail {
    Fail::App(datagenie_core::Error::new(
        datagenie_core::ErrorCode::InsufficientCredits,
        format!("not enough credits: {balance} left, {} needed", -amount),
    ))
}

async fn append(
    tx: &Tx<'_>,
    change: &CreditChange,
    kind: CreditKind,
    amount: i64,
    balance: i64,
) -> R<CreditTransaction> {
    let after = balance + amount;
    if after < 0 {
        return Err(insufficient(balance, amount));
    }
    let grant = kind == CreditKind::MonthlyGrant;
    let row = CreditTransaction {
        id: new_id(),
        user_id: change.user_id.clone(),
        amount,
        kind,
        history_id: if grant { None } else { change.history_id.clone() },
        description: if grant { None } else { change.description.clone() },
        balance_after: after,
        created_by: if grant { None } else { change.by.clone() },
        created_at: now(),
    };
    execute(
        tx,
        "INSERT INTO credit_transactions (id, user_id, amount, kind, history_id, description, balance_after,
             created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &row.id,
            &row.user_id,
            &row.amount,
            &row.kind,
            &row.history_id,
            &row.description,
            &row.balance_after,
            &row.created_by,
            &row.created_at,
        ],
    )
    .await?;
    Ok(row)
}

pub(super) async fn apply(tx: &Tx<'_>, change: &CreditChange) -> R<CreditTransaction> {
    if change.amount == 0 {
        return Err(invalid("a credit change needs an amount other than 0"));
    }
    // the user, kept from being deleted meanwhile; then the balance row, created when missing, locked
    if query_opt(tx, "SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE", &[&change.user_id]).await?.is_none() {
        return Err(not_found(format!("no user with the id '{}'", change.user_id)));
    }
    let at = now();
    execute(
        tx,
        "INSERT INTO credit_balances (user_id, balance, last_granted_at, updated_at) VALUES ($1, 0, NULL, $2)
         ON CONFLICT (user_id) DO NOTHING",
        &[&change.user_id, &at],
    )
    .await?;
    let rows = query(
        tx,
        "SELECT balance, last_granted_at FROM credit_balances WHERE user_id = $1 FOR UPDATE",
        &[&change.user_id],
    )
    .await?;
    let row = rows.first().ok_or_else(|| not_found(format!("no user with the id '{}'", change.user_id)))?;
    let (mut balance, mut granted): (i64, Option<Timestamp>) = (row.try_get(0)?, row.try_get(1)?);
    if let Some((amount, period)) = change.monthly
        && granted.is_none_or(|g| g < period)
    {
        if amount > 0 {
            balance = append(tx, change, CreditKind::MonthlyGrant, amount, balance).await?.balance_after;
        }
        granted = Some(period);
    }
    let out = append(tx, change, change.kind, change.amount, balance).await?;
    execute(
        tx,
        "UPDATE credit_balances SET balance = $2, last_granted_at = $3, updated_at = $4 WHERE user_id = $1",
        &[&change.user_id, &out.balance_after, &granted, &out.created_at],
    )
    .await?;
    Ok(out)
}

pub(super) async fn balance(tx: &Tx<'_>, user_id: &str) -> R<Option<CreditBalance>> {
    let row = query_opt(
        tx,
        "SELECT user_id, balance, last_granted_at, updated_at FROM credit_balances WHERE user_id = $1",
        &[&user_id],
    )
    .await?;
    row.map(|r| {
        Ok(CreditBalance {
            user_id: r.try_get(0)?,
            balance: r.try_get(1)?,
            last_granted_at: r.try_get(2)?,
            updated_at: r.try_get(3)?,
        })
    })
    .transpose()
}

pub(super) async fn list(tx: &Tx<'_>, user_id: &str, req: &PageRequest) -> R<Page<CreditTransaction>> {
    let limit = page::limit(req);
    let before = match &req.cursor {
        Some(c) => page::decode("credits", c)?
            .0
            .parse::<i64>()
            .map_err(|_| invalid("the page cursor is not valid for this list"))?,
        None => i64::MAX,
    };
    let n = to_i64(limit + 1);
    let rows = query(
        tx,
        &format!(
            "SELECT {TX_COLUMNS} FROM credit_transactions WHERE user_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
        ),
        &[&user_id, &before, &n],
    )
    .await?;
    let rows = rows.iter().map(tx_row).collect::<R<Vec<_>>>()?;
    let page = page_of(rows, limit, |(t, seq)| page::encode("credits", &seq.to_string(), &t.id));
    Ok(Page { items: page.items.into_iter().map(|(t, _)| t).collect(), next_cursor: page.next_cursor })
}
