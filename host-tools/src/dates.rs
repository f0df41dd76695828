//! Dates on the host: the `YYYY-MM-DD` (UTC midnight) or Unix seconds that the command line and
//! the profile take, and the host clock, turned into the Unix seconds desfire-core works in (the
//! core keeps no calendar). The calendar is jiff's.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::Offset;

use crate::args::ArgError;

/// Parses a date: `YYYY-MM-DD` (UTC midnight) or Unix seconds.
///
/// Each field of a date is a decimal number as written (`2026-1-5` is 5 January 2026); the
/// result must fit the credential's 32-bit Unix seconds (1970-01-01 to 2106-02-07).
pub fn parse_date(what: &str, text: &str) -> Result<u32, ArgError> {
    let t = text.trim();
    let bad = || ArgError::Invalid {
        what: what.to_owned(),
        message: format!("expected YYYY-MM-DD or Unix seconds, got {t:?}"),
    };
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<u32>().map_err(|_| bad());
    }
    let mut parts = t.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let (y, m, d): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    let (Ok(y), Ok(m), Ok(d)) = (i16::try_from(y), i8::try_from(m), i8::try_from(d)) else {
        return Err(bad());
    };
    let midnight = Date::new(y, m, d)
        .map_err(|_| bad())?
        .to_datetime(Time::midnight());
    let seconds = Offset::UTC
        .to_timestamp(midnight)
        .map_err(|_| bad())?
        .as_second();
    u32::try_from(seconds).map_err(|_| bad())
}

/// The current time in Unix seconds (the host clock is this tool's trusted time): 0 before
/// 1970, `u32::MAX` after 2106-02-07.
pub fn now() -> u32 {
    let seconds = Timestamp::now().as_second().max(0);
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("d", "1970-01-01").unwrap(), 0);
        assert_eq!(parse_date("d", "2026-01-01").unwrap(), 0x6955_B900);
        assert_eq!(parse_date("d", "2031-01-01").unwrap(), 0x72BD_0C00);
        assert_eq!(parse_date("d", "2024-02-29").unwrap(), 1_709_164_800);
        assert_eq!(parse_date("d", "1830297600").unwrap(), 1_830_297_600);
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1",
            "x",
            "",
            "1969-12-31",
            "99999999999",
        ] {
            assert!(parse_date("d", bad).is_err(), "{bad}");
        }
    }

    /// Every day from 1970-01-01 to the last midnight 32-bit Unix seconds hold (2106-02-07),
    /// counted off one day at a time with the Gregorian leap rule (every 4th year, not every
    /// 100th, every 400th: 2000 is a leap year, 2100 is not), is `n * 86400` seconds, written
    /// with and without leading zeros; the day after each month's last day is refused.
    #[test]
    fn every_day_of_the_32_bit_range() {
        let leap =
            |y: u32| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
        let length = |y: u32, m: u32| match m {
            2 if leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let (mut y, mut m, mut d) = (1970u32, 1u32, 1u32);
        let mut n: u64 = 0;
        loop {
            let seconds = n * 86_400;
            let padded = format!("{y:04}-{m:02}-{d:02}");
            match u32::try_from(seconds) {
                Ok(s) => {
                    assert_eq!(parse_date("d", &padded).unwrap(), s, "{padded}");
                    assert_eq!(parse_date("d", &format!("{y}-{m}-{d}")).unwrap(), s);
                }
                Err(_) => {
                    assert_eq!(padded, "2106-02-08");
                    assert!(parse_date("d", &padded).is_err());
                    break;
                }
            }
            if d == length(y, m) {
                let over = format!("{y:04}-{m:02}-{:02}", d + 1);
                assert!(parse_date("d", &over).is_err(), "{over}");
                d = 1;
                m += 1;
                if m == 13 {
                    m = 1;
                    y += 1;
                }
            } else {
                d += 1;
            }
            n += 1;
        }
        // 2106-02-08 is day 49,711: the days before it are the 49,711 that fit.
        assert_eq!(n, 49_711);
        // Python: int(datetime(Y, M, D, tzinfo=timezone.utc).timestamp()).
        for (text, seconds) in [
            ("2000-02-29", 951_782_400),
            ("2096-02-29", 3_981_312_000),
            ("2106-02-07", 4_294_944_000),
            (" 2026-06-01 ", 1_780_272_000),
            ("+2026-06-01", 1_780_272_000),
            ("4294967295", u32::MAX),
        ] {
            assert_eq!(parse_date("d", text).unwrap(), seconds, "{text}");
        }
        for bad in [
            "2100-02-29",
            "1900-02-29",
            "2026-00-10",
            "2026-06-00",
            "4294967296",
        ] {
            assert!(parse_date("d", bad).is_err(), "{bad}");
        }
        let e = parse_date("--now", "2026-02-30").unwrap_err();
        assert_eq!(
            e.to_string(),
            ArgError::Invalid {
                what: "--now".into(),
                message: "expected YYYY-MM-DD or Unix seconds, got \"2026-02-30\"".into(),
            }
            .to_string()
        );
    }

    #[test]
    fn now_is_after_2026() {
        assert!(now() >= parse_date("d", "2026-01-01").unwrap());
    }
}
