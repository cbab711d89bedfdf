//! Text patterns: "contains", "starts with", "ends with" as LIKE.

use super::Ctx;
use crate::builtin::doubt::F;
use crate::builtin::link::ItemKind;
use crate::builtin::sql::Cond;
use crate::builtin::vocab::Cue;

impl Ctx<'_> {
    pub(super) fn like_pass(&mut self) {
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let Some(Cue::Like(kind)) = self.cue_at(i) else { continue };
            // The text: a quoted string or value within the next two items ("contain the letter 'a'"), else the
            // next word.
            let mut j = None;
            let mut k = i;
            for _ in 0..3 {
                let Some(n) = self.next_sig(k) else { break };
                if matches!(self.items[n].kind, ItemKind::Value { .. }) {
                    j = Some(n);
                    break;
                }
                if matches!(
                    self.items[n].text.as_str(),
                    "letter"
                        | "letters"
                        | "word"
                        | "words"
                        | "string"
                        | "character"
                        | "characters"
                        | "substring"
                        | "phrase"
                        | "term"
                        | "text"
                ) {
                    self.used[n] = true;
                    k = n;
                    continue;
                }
                if j.is_none() && matches!(self.items[n].kind, ItemKind::Word) {
                    j = Some(n);
                }
                break;
            }
            let Some(j) = j else { continue };
            let text = self.items[j].text.clone();
            let neg = self.negated_before(i);
            let col = self.prev_sig(i).and_then(|k| self.col_at(k).map(|c| (k, c)));
            let c = match col {
                Some((k, c)) if !self.used[k] => {
                    self.used[k] = true;
                    c
                }
                _ => match self.lex.name_column_in(self.subject, self.korean) {
                    Some(c) => {
                        self.doubt(F::LikeDefault, "LIKE on the name column by default");
                        c
                    }
                    None => continue,
                },
            };
            self.used[i] = true;
            self.used[j] = true;
            self.filters.push((i, Cond::Like(c, kind, text, neg)));
        }
    }
}
