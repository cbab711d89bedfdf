//! The Gregorian calendar's one rule every date check needs: how many days a month has.

/// Days in `month` (1–12) of `year`; `None` for a month that does not exist.
pub fn days_in_month(year: i32, month: u32) -> Option<u32> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => Some(31),
        4 | 6 | 9 | 11 => Some(30),
        2 if leap => Some(29),
        2 => Some(28),
        _ => None,
    }
}

/// True when `year`-`month`-`day` is a real date of years 1 to 9999.
pub fn is_valid_date(year: i32, month: u32, day: u32) -> bool {
    (1..=9999).contains(&year) && days_in_month(year, month).is_some_and(|days| (1..=days).contains(&day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_years_and_month_lengths() {
        assert_eq!(days_in_month(2024, 2), Some(29));
        assert_eq!(days_in_month(1900, 2), Some(28));
        assert_eq!(days_in_month(2000, 2), Some(29));
        assert_eq!(days_in_month(2023, 13), None);
        assert!(is_valid_date(2024, 4, 30) && !is_valid_date(2024, 4, 31) && !is_valid_date(0, 1, 1));
    }
}
