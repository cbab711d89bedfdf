//! Dates: relative periods ("last month", "지난달"), years and months, as ranges on a date column.

use super::Ctx;
use crate::builtin::dates::Ymd;
use crate::builtin::doubt::F;
use crate::builtin::link::ItemKind;
use crate::builtin::sql::{Cond, Lit};
use crate::builtin::vocab::{Concept, Cue, DateCue, Op};
use crate::schema::TypeClass;

impl Ctx<'_> {
    pub(super) fn date_pass(&mut self) {
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
                DateCue::LastYear => {
                    let y = Ymd { y: today.y - 1, m: 1, d: 1 };
                    (y, Ymd { y: today.y, m: 1, d: 1 })
                }
                DateCue::ThisYear => (Ymd { y: today.y, m: 1, d: 1 }, Ymd { y: today.y + 1, m: 1, d: 1 }),
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
            if (unit == "년" || unit == "년도" || unit == "연도") && n.fract() == 0.0 && (1000.0..=2999.0).contains(&n)
            {
                // A month may follow: "2024년 3월".
                let month = self.items.get(j + 1).and_then(|_| {
                    let m = self.num_at(j + 1)?;
                    let u = self.items.get(j + 2)?;
                    (unit_word(&u.text) == "월" && m.fract() == 0.0 && (1.0..=12.0).contains(&m)).then_some(m as u32)
                });
                self.used[i] = true;
                self.used[j] = true;
                match month {
                    Some(m) => {
                        self.used[j + 1] = true;
                        self.used[j + 2] = true;
                        let from = Ymd { y: n as i64, m, d: 1 };
                        self.date_filter(i, from, from.add_months(1));
                    }
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
            if matches!(prev_word, "in" | "during" | "of" | "year") {
                self.used[i] = true;
                self.year_filter(i, n as i64);
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
        c
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
