//! Dates: relative periods ("last month", "지난달"), years and months, as ranges on a date column.

use super::{Ctx, Res};
use crate::builtin::dates::Ymd;
use crate::builtin::doubt::F;
use crate::builtin::link::ItemKind;
use crate::builtin::sql::{Cond, Lit};
use crate::builtin::text::stem_word;
use crate::builtin::vocab::{Concept, Cue, DateCue, Op};
use crate::schema::TypeClass;

impl Ctx<'_> {
    pub(super) fn date_pass(&mut self) {
        // Before month names: "(July through September)" after a quarter only spells it out.
        self.quarter_pass();
        self.decade_pass();
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let Some(Cue::Date(d)) = self.cue_at(i) else { continue };
            let Some(today) = self.today else {
                self.doubt(F::NoToday, "a relative date without today's date");
                self.used[i] = true;
                continue;
            };
            let (from, to) = match d {
                DateCue::LastDays => {
                    let Some(j) = self.next_sig(i) else { continue };
                    let Some(n) = self.num_at(j) else { continue };
                    if !(1.0..=36_600.0).contains(&n) || n.fract() != 0.0 {
                        continue;
                    }
                    let unit = self.next_sig(j);
                    let unit_text = unit.map(|u| self.items[u].text.clone()).unwrap_or_default();
                    let days = match unit_text.as_str() {
                        "day" | "days" | "일" | "일간" => n as i64,
                        "week" | "weeks" | "주" | "주간" => n as i64 * 7,
                        "month" | "months" | "개월" | "달" => {
                            let from = today.add_months(-(n as i64));
                            let span = today.add_days(1);
                            self.used[j] = true;
                            if let Some(u) = unit {
                                self.used[u] = true;
                            }
                            self.date_filter(i, from, span);
                            continue;
                        }
                        "year" | "years" | "년" | "년간" => n as i64 * 365,
                        _ => continue,
                    };
                    self.used[j] = true;
                    if let Some(u) = unit {
                        self.used[u] = true;
                    }
                    (today.add_days(-(days - 1)), today.add_days(1))
                }
                DateCue::LastMonth => {
                    let this = today.first_of_month();
                    (this.add_months(-1), this)
                }
                DateCue::ThisMonth => {
                    let this = today.first_of_month();
                    (this, this.add_months(1))
                }
                DateCue::LastYear | DateCue::ThisYear => {
                    let y = if d == DateCue::LastYear { today.y - 1 } else { today.y };
                    // "작년 12월", "올해 상반기": a part of that year.
                    match self.year_part(i + 1, y) {
                        Some((from, to)) => (from, to),
                        None => (Ymd { y, m: 1, d: 1 }, Ymd { y: y + 1, m: 1, d: 1 }),
                    }
                }
                DateCue::Today => (today, today.add_days(1)),
                DateCue::Yesterday => (today.add_days(-1), today),
                DateCue::Month(m) => {
                    // "March 2024" / "in March of 2024"; without a year, the latest such month up to today.
                    let year = self.next_sig(i).and_then(|j| {
                        let n = self.num_at(j)?;
                        (n.fract() == 0.0 && (1000.0..=2999.0).contains(&n)).then_some((j, n as i64))
                    });
                    let y = match year {
                        Some((j, y)) => {
                            self.used[j] = true;
                            y
                        }
                        None => {
                            self.doubt(F::MonthNoYear, "a month without a year");
                            if m <= today.m { today.y } else { today.y - 1 }
                        }
                    };
                    let from = Ymd { y, m, d: 1 };
                    (from, from.add_months(1))
                }
            };
            self.date_filter(i, from, to);
        }
        // Korean months: "3월" = Num then 월; years "2024년" = Num then 년.
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let Some(n) = (match self.items[i].kind {
                ItemKind::Num(n) => Some(n),
                _ => None,
            }) else {
                continue;
            };
            let Some(j) = self.items.get(i + 1).map(|_| i + 1) else { continue };
            // "2024년에": the unit with its particle.
            let unit = unit_word(&self.items[j].text);
            // "1995년 이후": a comparison, read by the comparison pass.
            let compared = self.next_sig(j).is_some_and(|k| matches!(self.cue_at(k), Some(Cue::CmpPost { .. })));
            if (unit == "년" || unit == "년도" || unit == "연도")
                && n.fract() == 0.0
                && (1000.0..=2999.0).contains(&n)
                && !compared
            {
                // A part of the year may follow: "2024년 3월", "2024년 상반기", "2023년 3분기", "2022년 7월~9월".
                self.used[i] = true;
                self.used[j] = true;
                match self.year_part(j + 1, n as i64) {
                    Some((from, to)) => self.date_filter(i, from, to),
                    None => self.year_filter(i, n as i64),
                }
            }
        }
        // English years: "in 2008", "during 2010", "of 2009".
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let ItemKind::Num(n) = self.items[i].kind else { continue };
            if n.fract() != 0.0 || !(1800.0..=2100.0).contains(&n) {
                continue;
            }
            let prev_word = i.checked_sub(1).map(|p| self.items[p].text.as_str()).unwrap_or("");
            if matches!(prev_word, "in" | "during" | "of" | "year" | "for") && !self.compared_year(i) {
                self.used[i] = true;
                self.year_filter(i, n as i64);
            }
        }
        self.new_rows();
    }

    /// "new customers who signed up last year", "2025년 신규 가입 고객": "new" before the rows is what their own date
    /// range already says, when one is read on the table's date.
    fn new_rows(&mut self) {
        for i in 0..self.items.len() {
            if self.used[i] || !matches!(self.items[i].text.as_str(), "new" | "신규") {
                continue;
            }
            let Some(t) = self.next_sig(i).and_then(|j| self.table_at(j)) else { continue };
            let dated = self.filters.iter().any(|(_, cond)| {
                matches!(cond, Cond::Range(c, ..) | Cond::Cmp(c, ..) | Cond::Between(c, ..)
                    if self.table_of(*c) == t && self.lex.cols[*c].class == TypeClass::Temporal)
            });
            if dated {
                self.used[i] = true;
            }
        }
    }

    /// Decades: "born in the 1990s", "the '80s", "1980년대생", "90년대에 가입한": a range of ten years on a year column
    /// or a date column; "born" and "…생" say the birth column.
    fn decade_pass(&mut self) {
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let text = self.items[i].text.to_lowercase();
            // (first year, the items said, born?)
            let (start, items, born) = if let Some(d) = text.strip_suffix('s').map(|d| d.trim_start_matches('\''))
                && d.len() >= 2
                && d.chars().all(|c| c.is_ascii_digit())
                && let Ok(n) = d.parse::<i64>()
            {
                let born = self.prev_sig(i).and_then(|p| {
                    self.prev_sig(p).into_iter().chain([p]).find(|&k| {
                        let w = self.items[k].text.to_lowercase();
                        w == "born" || w == "birth"
                    })
                });
                (n, vec![i], born)
            } else if let Some(n) = self.num_at(i)
                && let Some(u) = self.items.get(i + 1)
                && u.text.starts_with("년대")
            {
                (n as i64, vec![i, i + 1], u.text.contains('생').then_some(i + 1))
            } else {
                continue;
            };
            let start = match start {
                0..=99 if start % 10 == 0 => 1900 + start,
                1000..=2999 if start % 10 == 0 => start,
                _ => continue,
            };
            let col = match born {
                Some(k) => {
                    let birth = |c: usize| self.lex.cols[c].stems.iter().any(|s| s == "birth" || s == "born");
                    let own = self.col_at(k).filter(|&c| birth(c));
                    own.or_else(|| {
                        self.mentioned
                            .iter()
                            .flat_map(|&t| self.lex.tables[t].cols.iter().copied())
                            .find(|&c| birth(c) && self.lex.cols[c].class != TypeClass::Text)
                    })
                    .inspect(|_| self.used[k] = true)
                }
                None => self.date_column_near(i),
            };
            let Some(c) = col else {
                self.doubt(F::DateNoCol, "a decade without a date or year column");
                continue;
            };
            for k in items {
                self.used[k] = true;
            }
            let cond = if self.lex.cols[c].class == TypeClass::Temporal {
                Cond::Range(c, Lit::Date(format!("{start:04}-01-01")), Lit::Date(format!("{:04}-01-01", start + 10)))
            } else {
                Cond::Between(c, Lit::Num(start as f64), Lit::Num((start + 9) as f64), false)
            };
            self.filters.push((i, cond));
        }
    }

    /// "before the year of 2010", "after year 2008", "2002 or after": the year is compared, read by the comparison
    /// pass.
    fn compared_year(&self, i: usize) -> bool {
        // "in year 2001 or before".
        let or_before = |k: usize| {
            matches!(self.cue_at(k), Some(Cue::Or))
                && self
                    .next_sig(k)
                    .is_some_and(|m| matches!(self.cue_at(m), Some(Cue::Cmp { concept: Concept::Time, .. })))
        };
        if self.next_sig(i).is_some_and(|k| matches!(self.cue_at(k), Some(Cue::CmpPost { .. })) || or_before(k)) {
            return true;
        }
        let Some(k) = self.prev_sig(i) else { return false };
        let named_year = self.items[k].text.eq_ignore_ascii_case("year")
            || self.col_at(k).is_some_and(|c| self.lex.cols[c].stems.iter().any(|s| s == "year"));
        named_year && self.prev_sig(k).is_some_and(|c| matches!(self.cue_at(c), Some(Cue::Cmp { .. })))
    }

    fn quarter_pass(&mut self) {
        // English quarters and halves: "the third quarter of 2023", "Q3 2023", "the first half of 2024".
        for i in 0..self.items.len() {
            if self.used[i] {
                continue;
            }
            let text = self.items[i].text.as_str();
            let (part, unit_at) = match text {
                "q1" | "q2" | "q3" | "q4" => (Some((text[1..].parse::<u32>().unwrap_or(1), 3)), None),
                "first" | "1st" => (None, Some(1)),
                "second" | "2nd" => (None, Some(2)),
                "third" | "3rd" => (None, Some(3)),
                "fourth" | "4th" | "last" => (None, Some(4)),
                _ => continue,
            };
            let (which, months, span_end) = match (part, unit_at) {
                (Some((q, m)), _) => (q, m, i),
                (None, Some(k)) => {
                    let Some(u) = self.items.get(i + 1) else { continue };
                    match u.text.as_str() {
                        "quarter" => (k, 3, i + 1),
                        "half" if k <= 2 => (k, 6, i + 1),
                        "half" if k == 4 => (2, 6, i + 1),
                        _ => continue,
                    }
                }
                _ => continue,
            };
            if which == 0 || which * months > 12 {
                continue;
            }
            // The year after it: "of 2023", "in 2023", "2023".
            let mut k = span_end + 1;
            while k < self.items.len() && matches!(self.items[k].text.as_str(), "of" | "in" | "the") {
                k += 1;
            }
            let Some(y) = self.num_at_opt(k).filter(|y| y.fract() == 0.0 && (1000.0..=2999.0).contains(y)) else {
                continue;
            };
            for m in i..=k {
                self.used[m] = true;
            }
            let from = Ymd { y: y as i64, m: (which - 1) * months + 1, d: 1 };
            self.date_filter(i, from, from.add_months(months as i64));
            self.skip_month_gloss(k + 1);
        }
    }

    fn num_at_opt(&self, k: usize) -> Option<f64> {
        match self.items.get(k)?.kind {
            ItemKind::Num(n) => Some(n),
            _ => None,
        }
    }

    /// A part of year `y` said from item `k` on, Korean: "3월", "7월~9월", "7월부터 9월까지", "상반기", "하반기",
    /// "3분기". Marks its items used; the range is [from, to).
    fn year_part(&mut self, k: usize, y: i64) -> Option<(Ymd, Ymd)> {
        let it = self.items.get(k)?;
        let half = match it.text.trim_end_matches(['에', '의', '는', '은']) {
            "상반기" => Some(1),
            "하반기" => Some(7),
            _ => None,
        };
        if let Some(m) = half {
            self.used[k] = true;
            self.skip_month_gloss(k + 1);
            let from = Ymd { y, m, d: 1 };
            return Some((from, from.add_months(6)));
        }
        let n = self.num_at_opt(k)?;
        let unit = self.items.get(k + 1)?;
        if n.fract() != 0.0 {
            return None;
        }
        let unit_text = unit.text.trim_end_matches(['에', '의', '는', '은']);
        if matches!(unit_text, "분기" | "사분기") && (1.0..=4.0).contains(&n) {
            self.used[k] = true;
            self.used[k + 1] = true;
            self.skip_month_gloss(k + 2);
            let from = Ymd { y, m: (n as u32 - 1) * 3 + 1, d: 1 };
            return Some((from, from.add_months(3)));
        }
        let month = |t: &str| matches!(unit_word(t), "월") || t.starts_with("월부터") || t.starts_with("월까지");
        if !month(&unit.text) || !(1.0..=12.0).contains(&n) {
            return None;
        }
        let m1 = n as u32;
        self.used[k] = true;
        self.used[k + 1] = true;
        // "7월~9월", "7월부터 9월까지", "7월에서 9월": a range of months.
        let mut j = k + 2;
        if self.items.get(j).is_some_and(|t| t.text == "~" || t.text == "-") {
            j += 1;
        }
        if let (Some(m2), Some(u2)) = (self.num_at_opt(j), self.items.get(j + 1))
            && month(&u2.text)
            && (m2 as u32) >= m1
            && m2 <= 12.0
            && m2.fract() == 0.0
            && (j > k + 2 || unit.text.ends_with("부터") || unit.text.ends_with("에서"))
        {
            for m in k + 2..=j + 1 {
                self.used[m] = true;
            }
            let from = Ymd { y, m: m1, d: 1 };
            return Some((from, Ymd { y, m: m2 as u32, d: 1 }.add_months(1)));
        }
        let from = Ymd { y, m: m1, d: 1 };
        Some((from, from.add_months(1)))
    }

    /// A parenthesis that only spells out months ("(7월~12월)", "(July through September)"): marked used.
    fn skip_month_gloss(&mut self, k: usize) {
        if self.items.get(k).is_none_or(|t| t.text != "(") {
            return;
        }
        let Some(close) = (k + 1..self.items.len().min(k + 12)).find(|&j| self.items[j].text == ")") else { return };
        let months_only = (k + 1..close).all(|j| {
            let t = self.items[j].text.as_str();
            matches!(self.items[j].kind, ItemKind::Num(_) | ItemKind::Punct | ItemKind::Free)
                || matches!(self.cue_at(j), Some(Cue::Date(DateCue::Month(_))))
                || unit_word(t) == "월"
                || matches!(t, "~" | "-" | "through" | "to" | "and")
        });
        if months_only {
            for j in k..=close {
                self.used[j] = true;
            }
        }
    }

    fn date_column_near(&mut self, i: usize) -> Option<usize> {
        // A date column named just before ("ordered in 2024"), else the focus table's date column.
        if let Some(p) = self.prev_sig(i)
            && let Some(c) = self.col_at(p)
            && (self.lex.cols[c].class == TypeClass::Temporal
                || self.lex.cols[c].stems.iter().any(|s| s == "year" || s == "date"))
        {
            self.used[p] = true;
            return Some(c);
        }
        // Korean names it just after: "2024년에 가입한 고객" (`signup_date`).
        if self.korean {
            for k in i + 1..(i + 5).min(self.items.len()) {
                if self.items[k].kind == ItemKind::Stop {
                    break;
                }
                if !self.used[k]
                    && let Some(c) = self.col_at(k)
                    && self.lex.cols[c].class == TypeClass::Temporal
                {
                    self.used[k] = true;
                    return Some(c);
                }
            }
        }
        let c = self.concept_col(Concept::Time);
        if c.is_none() {
            self.doubt(F::DateNoCol, "a date without a date column");
        }
        // "Fitness products ordered in 2024", "2024년에 주문된 상품": the date is when another table's rows happened
        // (orders), not the subject's own date (a launch date).
        if let Some(c) = c
            && let Some(t) = self.event_table_near(i)
            && t != self.table_of(c)
        {
            // The event's table has one date: that is the date meant, reached by a join ("products ordered in 2025"
            // filters on the order's date).
            if let [d] = self.dates_of(t)[..] {
                return Some(d);
            }
            self.doubt(
                F::Describing,
                format!("the date is of {}, not of {}", self.lex.tables[t].stems.join(" "), self.lex.cols[c].name),
            );
        }
        c
    }

    /// A verb near item `i` that names another table's event ("ordered", "주문된", "paid"): that table, when it has a
    /// date column of its own.
    fn event_table_near(&self, i: usize) -> Option<usize> {
        // "2025년 주문 중 …": Korean names whose date it is right after the year.
        if self.korean
            && let Some(k) = (i + 1..(i + 3).min(self.items.len())).find(|&k| self.table_at(k).is_some())
            && let Some(t) = self.table_at(k)
            && !self.dates_of(t).is_empty()
        {
            return Some(t);
        }
        let lo = i.saturating_sub(4);
        let hi = (i + 5).min(self.items.len());
        (lo..hi).find_map(|k| {
            let it = &self.items[k];
            let text = it.text.to_lowercase();
            let verb = text.ends_with("ed") || text.ends_with("된") || text.ends_with("한") || text.ends_with("되지");
            if !verb || k == i {
                return None;
            }
            let t = match self.res.get(k) {
                Some(Res::Table(t)) => Some(*t),
                _ => {
                    let stem = stem_word(&text);
                    (0..self.lex.tables.len()).find(|&t| self.lex.tables[t].stems.last() == Some(&stem))
                }
            }?;
            (!self.dates_of(t).is_empty()).then_some(t)
        })
    }

    fn date_filter(&mut self, i: usize, from: Ymd, to: Ymd) {
        let Some(c) = self.date_column_near(i) else { return };
        self.used[i] = true;
        self.filters.push((i, Cond::Range(c, Lit::Date(from.fmt()), Lit::Date(to.fmt()))));
    }

    fn year_filter(&mut self, i: usize, y: i64) {
        let Some(c) = self.date_column_near(i) else { return };
        self.used[i] = true;
        let info = &self.lex.cols[c];
        let cond = if info.stems.iter().any(|s| s == "year") || self.is_numeric(c) {
            Cond::Cmp(c, Op::Eq, Lit::Num(y as f64))
        } else {
            Cond::Range(c, Lit::Date(format!("{y:04}-01-01")), Lit::Date(format!("{:04}-01-01", y + 1)))
        };
        self.filters.push((i, cond));
    }
}

/// A Korean date unit without its particle: "년에" → "년", "월부터" → "월".
fn unit_word(text: &str) -> &str {
    for particle in ["에는", "에도", "부터", "까지", "동안", "에", "의", "도", "은", "는"] {
        if let Some(unit) = text.strip_suffix(particle)
            && matches!(unit, "년" | "년도" | "연도" | "월")
        {
            return unit;
        }
    }
    text
}
