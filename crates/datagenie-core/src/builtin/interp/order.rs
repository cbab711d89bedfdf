//! Ordering: "ordered by X", "in descending order of X", "alphabetically".

use super::Ctx;
use crate::builtin::link::ItemKind;
use crate::builtin::sql::OrderKey;
use crate::builtin::vocab::{Concept, Cue};

impl Ctx<'_> {
    pub(super) fn order_pass(&mut self) {
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let Some(cue) = self.cue_at(i) else { continue };
            let (mut desc, is_order) = match cue {
                Cue::OrderBy => (false, true),
                Cue::Dir { desc, .. } => (desc, true),
                Cue::Alpha => (false, true),
                Cue::By => {
                    // "by X" orders only when a direction follows; grouping reads it otherwise.
                    let j = self.next_sig(i);
                    let dir_follows = j
                        .and_then(|j| self.next_sig(j))
                        .is_some_and(|k| matches!(self.cue_at(k), Some(Cue::Dir { .. } | Cue::Alpha)));
                    if !dir_follows {
                        continue;
                    }
                    (false, true)
                }
                _ => (false, false),
            };
            if !is_order {
                continue;
            }
            self.used[i] = true;
            let mut key: Option<OrderKey> = None;
            let mut end = i;
            // "Order/Sort all X by Y": the key follows the "by".
            let imperative = self.items[..i].iter().all(|it| matches!(it.kind, ItemKind::Free | ItemKind::Punct))
                && matches!(self.items[i].text.as_str(), "order" | "sort" | "rank");
            if imperative
                && let Some(b) = (i + 1..self.items.len()).find(|&k| !self.used[k] && self.cue_at(k) == Some(Cue::By))
            {
                self.used[b] = true;
                if let Some(j) = self.next_sig(b)
                    && let Some((k, e)) = self.order_key_at(j)
                {
                    key = Some(k);
                    end = e;
                }
            }
            // Skip further order words: "sort in descending order of X", "ordered alphabetically by name".
            let mut next = self.next_sig(i);
            while let Some(j) = next {
                match self.cue_at(j) {
                    Some(Cue::Dir { desc: d, .. }) => desc = d,
                    Some(Cue::Alpha | Cue::By | Cue::OrderBy) => {}
                    _ => break,
                }
                self.used[j] = true;
                end = j;
                next = self.next_sig(j);
            }
            if key.is_none()
                && let Some(j) = next
                && let Some((k, e)) = self.order_key_at(j)
            {
                key = Some(k);
                end = e;
            }
            // Korean names the key first: "나이 순으로".
            if key.is_none()
                && self.korean
                && let Some(p) = self.prev_sig(i)
                && let Some(c) = self.col_at(p).filter(|_| !self.used[p])
            {
                self.used[p] = true;
                key = Some(OrderKey::Col(c));
            }
            // "in the order of built year and class": more keys.
            let mut extra_keys = Vec::new();
            if key.is_some() {
                while let Some(a) = self.next_sig(end)
                    && self.cue_at(a) == Some(Cue::And)
                    && let Some(j) = self.next_sig(a)
                    && self.col_at(j).is_some()
                    && let Some((k, e)) = self.order_key_at(j)
                {
                    self.used[a] = true;
                    extra_keys.push(k);
                    end = e;
                }
            }
            // Direction: a Dir cue in the next few items (or the cue itself).
            let mut k = end;
            for _ in 0..4 {
                let Some(n) = self.next_sig(k) else { break };
                match self.cue_at(n) {
                    Some(Cue::Dir { desc: d, concept }) => {
                        desc = d;
                        if concept == Concept::Age
                            && let Some(OrderKey::Col(c)) = &key
                            && self.reversed_age(*c)
                        {
                            // From old to young on a date of birth is ascending.
                            desc = !d;
                        }
                        self.used[n] = true;
                        break;
                    }
                    Some(Cue::Alpha) => {
                        self.used[n] = true;
                        break;
                    }
                    Some(Cue::OrderBy) if key.is_none() => {
                        self.used[n] = true;
                        if let Some(m) = self.next_sig(n)
                            && let Some(c) = self.col_at(m)
                        {
                            key = Some(OrderKey::Col(c));
                            self.used[m] = true;
                            k = m;
                            continue;
                        }
                        k = n;
                        continue;
                    }
                    _ => {}
                }
                if key.is_none()
                    && let Some(c) = self.col_at(n)
                {
                    key = Some(OrderKey::Col(c));
                    self.used[n] = true;
                }
                k = n;
            }
            match key {
                Some(key) => {
                    self.plan.order.push((key, desc));
                    for k in extra_keys {
                        self.plan.order.push((k, desc));
                    }
                }
                None => {
                    // "in alphabetical order" / "in descending order": of the first projected column, decided later.
                    self.plan.order.push((OrderKey::Col(usize::MAX), desc));
                }
            }
        }
    }

    /// An ordering key starting at item `j`: a column, "publication price" (a table naming its column), an
    /// aggregate of a column, or a count of related rows. Marks what it uses; returns the key and its last item.
    fn order_key_at(&mut self, j: usize) -> Option<(OrderKey, usize)> {
        if let Some(c) = self.col_at(j) {
            self.used[j] = true;
            return Some((OrderKey::Col(c), j));
        }
        if let Some(t) = self.table_at(j)
            && let Some(k) = self.next_sig(j)
            && let Some(c) = self.col_in_table_at(k, t)
        {
            self.used[j] = true;
            self.used[k] = true;
            return Some((OrderKey::Col(c), k));
        }
        if let Some(Cue::Agg(a)) = self.cue_at(j)
            && let Some(k) = self.next_sig(j)
            && let Some(c) = self.col_at(k)
        {
            self.used[j] = true;
            self.used[k] = true;
            return Some((OrderKey::Agg(a, c), k));
        }
        if self.cue_at(j) == Some(Cue::Count)
            && let Some(k) = self.next_sig(j)
            && let Some(c) = self.col_at(k)
            && self.is_numeric(c)
        {
            self.used[j] = true;
            self.used[k] = true;
            return Some((OrderKey::Col(c), k));
        }
        if let Some((t, k)) = self.count_target(j) {
            self.mark_range(j, k);
            self.count_group(t);
            return Some((OrderKey::Count, k));
        }
        if self.cue_at(j) == Some(Cue::Count) {
            // "by the number of floors": a numeric column holds the number.
            if let Some(k) = self.next_sig(j)
                && let Some(c) = self.col_at(k)
                && self.is_numeric(c)
            {
                self.used[j] = true;
                self.used[k] = true;
                return Some((OrderKey::Col(c), k));
            }
            self.used[j] = true;
            return Some((OrderKey::Count, j));
        }
        None
    }
}
