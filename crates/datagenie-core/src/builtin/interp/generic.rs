//! Generic words ("dates", "code") that matched no column: the only column of that kind nearby.

use super::{Ctx, Res};
use crate::builtin::link::ItemKind;
use crate::builtin::text::stem_word;
use crate::schema::TypeClass;

impl Ctx<'_> {
    /// Words like "dates" or "code" that matched nothing: the subject's (or a mentioned table's) only column of
    /// that kind.
    pub(super) fn resolve_generic_words(&mut self) {
        const GENERIC: &[&str] = &[
            "date",
            "dates",
            "code",
            "codes",
            "id",
            "ids",
            "details",
            "description",
            "descriptions",
            "type",
            "types",
            "status",
            "number",
            "numbers",
            "year",
            "years",
            "time",
            "times",
        ];
        for i in 0..self.items.len() {
            // "the name of the campuses" where the name column is `Campus`: the named table's name column.
            if self.items[i].kind == ItemKind::Word
                && self.res[i] == Res::None
                && matches!(self.items[i].text.to_lowercase().as_str(), "name" | "names")
            {
                // Not "the city name" (a column's own word), nor "the name of film studio" (a table qualifying
                // the column that follows).
                let next = self.next_sig(i);
                let after_col =
                    (i > 0 && self.col_at(i - 1).is_some()) || next.is_some_and(|k| self.col_at(k).is_some());
                let qualified = next.is_some_and(|k| {
                    self.table_at(k)
                        .is_some_and(|t| self.items.get(k + 1).is_some() && self.col_in_table_at(k + 1, t).is_some())
                });
                let t = next.and_then(|k| self.table_at(k)).unwrap_or(self.subject);
                if !after_col
                    && !qualified
                    && let Some(c) = self.lex.name_column_in(t, self.korean)
                {
                    self.res[i] = Res::Col(c);
                    self.by_role.push(i);
                }
                continue;
            }
            if self.items[i].kind != ItemKind::Word || !GENERIC.contains(&self.items[i].text.to_lowercase().as_str()) {
                continue;
            }
            let st = stem_word(&self.items[i].text);
            let mut order = vec![self.subject];
            order.extend(self.mentioned.iter().copied().filter(|t| *t != self.subject));
            for t in order {
                let own: Vec<usize> = self.lex.tables[t]
                    .cols
                    .iter()
                    .copied()
                    .filter(|&c| self.lex.cols[c].stems.contains(&st) && !self.lex.cols[c].is_fk)
                    .collect();
                if own.len() == 1 {
                    self.res[i] = Res::Col(own[0]);
                    break;
                }
                if !own.is_empty() {
                    break;
                }
            }
            // "the id and name of the aircraft" where the key is `aid`: the subject's primary key.
            if self.res[i] == Res::None
                && matches!(self.items[i].text.to_lowercase().as_str(), "id" | "ids")
                && let Some(pk) = self.lex.pk(self.subject).filter(|&c| self.lex.cols[c].class != TypeClass::Text)
            {
                self.res[i] = Res::Col(pk);
                self.by_role.push(i);
            }
        }
    }
}
