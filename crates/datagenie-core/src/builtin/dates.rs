//! Calendar arithmetic for relative dates ("last 30 days", "지난달"), from a `today` the caller passes in.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ymd {
    pub y: i64,
    pub m: u32,
    pub d: u32,
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl Ymd {
    /// Parses `YYYY-MM-DD` (a valid calendar date, years 1..=9999).
    pub fn parse(s: &str) -> Option<Ymd> {
        let mut parts = s.trim().splitn(3, '-');
        let y: i64 = parts.next()?.parse().ok()?;
        let m: u32 = parts.next()?.parse().ok()?;
        let d: u32 = parts.next()?.get(..2)?.parse().ok()?;
        if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        Some(Ymd { y, m, d })
    }

    /// Days since 1970-01-01 (proleptic Gregorian).
    fn to_days(self) -> i64 {
        let y = if self.m <= 2 { self.y - 1 } else { self.y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = self.m as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + self.d as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn from_days(z: i64) -> Ymd {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
        Ymd { y, m, d }
    }

    pub fn add_days(self, n: i64) -> Ymd {
        Ymd::from_days(self.to_days() + n)
    }

    pub fn first_of_month(self) -> Ymd {
        Ymd { d: 1, ..self }
    }

    pub fn add_months(self, n: i64) -> Ymd {
        let total = self.y * 12 + (self.m as i64 - 1) + n;
        let y = total.div_euclid(12);
        let m = (total.rem_euclid(12) + 1) as u32;
        Ymd { y, m, d: self.d.min(days_in_month(y, m)) }
    }

    pub fn fmt(self) -> String {
        format!("{:04}-{:02}-{:02}", self.y, self.m, self.d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic() {
        let t = Ymd::parse("2024-03-01").expect("date");
        assert_eq!(t.add_days(-1).fmt(), "2024-02-29");
        assert_eq!(t.add_days(-30).fmt(), "2024-01-31");
        assert_eq!(t.add_months(-1).fmt(), "2024-02-01");
        assert_eq!(
            Ymd::parse("2025-01-15").map(|d| d.add_months(-1).first_of_month().fmt()),
            Some("2024-12-01".into())
        );
        assert_eq!(Ymd::parse("2023-03-31").map(|d| d.add_months(-1).fmt()), Some("2023-02-28".into()));
        assert!(Ymd::parse("2023-02-29").is_none());
        assert!(Ymd::parse("not a date").is_none());
        assert!(Ymd::parse("2023-1").is_none());
        assert_eq!(Ymd::parse("1970-01-01").map(|d| d.to_days()), Some(0));
        for n in [-1000i64, -1, 0, 1, 59, 365, 10_000] {
            let d = Ymd::from_days(n);
            assert_eq!(d.to_days(), n);
        }
    }
}
