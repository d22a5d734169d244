//! Dates as HAProxy and syslog daemons print them, and the local-time to UTC step.
//!
//! HAProxy prints `%t`/`%tr` and RFC3164 headers in the process's local time with no
//! offset, so the user names the zone (`--timezone`, UTC by default).

use chrono::{NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = month as i64;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The year of a millisecond timestamp.
pub fn year_of(ms: i64) -> i64 {
    let days = ms.div_euclid(MS_PER_DAY);
    // Inverse of days_from_civil, year only.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    year_of_era + era * 400 + i64::from(month <= 2)
}

pub fn month_from_name(name: &[u8]) -> Option<u32> {
    Some(match name {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

pub const MONTH_NAMES: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

pub fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() {
        return None;
    }
    let mut value: u32 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
    }
    Some(value)
}

fn time_of_day_ms(hour: u32, minute: u32, second: u32) -> Option<i64> {
    // 60 is a leap second; HAProxy never prints it, but a syslog daemon might.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(((hour as i64 * 60 + minute as i64) * 60 + second as i64) * 1000)
}

fn naive_ms(year: u32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i64> {
    if !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year as i64, month, day) * MS_PER_DAY + time_of_day_ms(hour, minute, second)?)
}

/// `DD/Mon/YYYY:HH:MM:SS` (the 20 bytes shared by every HAProxy date), as naive ms.
fn haproxy_date_prefix(text: &[u8]) -> Option<i64> {
    if text.len() < 20 || text[2] != b'/' || text[6] != b'/' || text[11] != b':' || text[14] != b':' || text[17] != b':'
    {
        return None;
    }
    naive_ms(
        digits(&text[7..11])?,
        month_from_name(&text[3..6])?,
        digits(&text[0..2])?,
        digits(&text[12..14])?,
        digits(&text[15..17])?,
        digits(&text[18..20])?,
    )
}

/// `%t`/`%tr`: `23/Nov/2026:20:24:40.854`, local time, as naive ms.
pub fn parse_local_millis(text: &[u8]) -> Option<i64> {
    if text.len() != 24 || text[20] != b'.' {
        return None;
    }
    Some(haproxy_date_prefix(text)? + digits(&text[21..24])? as i64)
}

/// `%T`/`%trg`/`%Tl`/`%trl`: `23/Nov/2026:20:27:21 +0100`, as UTC ms.
pub fn parse_with_offset(text: &[u8]) -> Option<i64> {
    if text.len() != 26 || text[20] != b' ' {
        return None;
    }
    let sign = match text[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let offset_minutes = digits(&text[22..24])? as i64 * 60 + digits(&text[24..26])? as i64;
    Some(haproxy_date_prefix(text)? - sign * offset_minutes * 60_000)
}

/// ISO 8601 / RFC3339 as in RFC5424 and HAProxy's `timed`/`iso` headers:
/// `2026-11-23T20:24:41.087268+00:00` (fraction optional, `Z` accepted), as UTC µs.
/// Returns the instant and the length of the timestamp.
pub fn parse_iso_micros(text: &[u8]) -> Option<(i64, usize)> {
    if text.len() < 20 || text[4] != b'-' || text[7] != b'-' || text[10] != b'T' || text[13] != b':' || text[16] != b':'
    {
        return None;
    }
    let naive = naive_ms(
        digits(&text[0..4])?,
        digits(&text[5..7]).filter(|m| (1..=12).contains(m))?,
        digits(&text[8..10])?,
        digits(&text[11..13])?,
        digits(&text[14..16])?,
        digits(&text[17..19])?,
    )?;
    let mut micros = naive * 1000;
    let mut i = 19;
    if text[i] == b'.' {
        let start = i + 1;
        let mut end = start;
        while end < text.len() && text[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            return None;
        }
        let fraction = &text[start..end.min(start + 6)];
        let mut value = digits(fraction)? as i64;
        for _ in fraction.len()..6 {
            value *= 10;
        }
        micros += value;
        i = end;
    }
    match text.get(i)? {
        b'Z' => Some((micros, i + 1)),
        &sign @ (b'+' | b'-') => {
            let rest = text.get(i + 1..i + 6)?;
            if rest[2] != b':' {
                return None;
            }
            let offset = (digits(&rest[0..2])? as i64 * 60 + digits(&rest[3..5])? as i64) * 60_000_000;
            Some((if sign == b'+' { micros - offset } else { micros + offset }, i + 6))
        }
        _ => None,
    }
}

/// RFC3164 `Mmm dd HH:MM:SS` (day space-padded): month, day and ms of the day.
pub fn parse_legacy_header(text: &[u8]) -> Option<LegacyTime> {
    if text.len() < 15 || text[3] != b' ' || text[6] != b' ' || text[9] != b':' || text[12] != b':' {
        return None;
    }
    let day = if text[4] == b' ' { digits(&text[5..6])? } else { digits(&text[4..6])? };
    if !(1..=31).contains(&day) {
        return None;
    }
    Some(LegacyTime {
        month: month_from_name(&text[0..3])?,
        day,
        ms_of_day: time_of_day_ms(digits(&text[7..9])?, digits(&text[10..12])?, digits(&text[13..15])?)?,
    })
}

/// A syslog date without a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyTime {
    pub month: u32,
    pub day: u32,
    pub ms_of_day: i64,
}

impl LegacyTime {
    pub fn naive_ms(self, year: i64) -> i64 {
        days_from_civil(year, self.month, self.day) * MS_PER_DAY + self.ms_of_day
    }
}

/// Turns naive local times into UTC instants for one time zone.
#[derive(Debug, Clone)]
pub struct LocalZone {
    zone: Option<Tz>,
    /// Offsets change at most hourly: remember the last local hour seen.
    cached_hour: i64,
    cached_offset_ms: i64,
}

impl LocalZone {
    pub fn utc() -> LocalZone {
        LocalZone { zone: None, cached_hour: i64::MIN, cached_offset_ms: 0 }
    }

    pub fn new(name: &str) -> Result<LocalZone, String> {
        if name.eq_ignore_ascii_case("UTC") || name == "Z" {
            return Ok(LocalZone::utc());
        }
        let zone: Tz = name
            .parse()
            .map_err(|_| format!("unknown time zone '{name}': use an IANA name such as Europe/Paris, or UTC"))?;
        Ok(LocalZone { zone: Some(zone), ..LocalZone::utc() })
    }

    /// Naive local ms → UTC ms. In the repeated hour of a DST fall-back the earlier
    /// instant is taken; in the skipped spring-forward hour, the offset before the gap.
    pub fn to_utc(&mut self, local_ms: i64) -> i64 {
        let Some(zone) = self.zone else {
            return local_ms;
        };
        let hour = local_ms.div_euclid(3_600_000);
        if hour != self.cached_hour {
            self.cached_offset_ms = offset_ms(zone, local_ms).unwrap_or(0);
            self.cached_hour = hour;
        }
        local_ms - self.cached_offset_ms
    }
}

fn offset_ms(zone: Tz, local_ms: i64) -> Option<i64> {
    let naive = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).map(|t| t.naive_utc());
    let resolve = |local: NaiveDateTime| {
        zone.from_local_datetime(&local).earliest().map(|t| t.offset().fix().local_minus_utc() as i64 * 1000)
    };
    resolve(naive(local_ms)?).or_else(|| resolve(naive(local_ms - 3_600_000)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(year_of(days_from_civil(2026, 12, 31) * MS_PER_DAY), 2026);
        assert_eq!(year_of(days_from_civil(2027, 1, 1) * MS_PER_DAY), 2027);
        assert_eq!(year_of(-1), 1969);
    }

    #[test]
    fn haproxy_dates() {
        // 2026-11-23T20:24:40.854Z
        let expected = 1_795_465_480_854;
        assert_eq!(parse_local_millis(b"23/Nov/2026:20:24:40.854"), Some(expected));
        assert_eq!(parse_with_offset(b"23/Nov/2026:20:24:40 +0000"), Some(expected - 854));
        assert_eq!(parse_with_offset(b"23/Nov/2026:21:24:40 +0100"), Some(expected - 854));
        assert_eq!(parse_local_millis(b"23/Nov/2026:20:24:40"), None);
        assert_eq!(parse_local_millis(b"23/Foo/2026:20:24:40.854"), None);
        assert_eq!(parse_local_millis(b"23/Nov/2026:25:24:40.854"), None);
    }

    #[test]
    fn iso_dates() {
        let (micros, len) = parse_iso_micros(b"2026-11-23T21:24:40.854123+01:00 host").unwrap();
        assert_eq!((micros, len), (1_795_465_480_854_123, 32));
        assert_eq!(parse_iso_micros(b"2026-11-23T20:24:40Z").unwrap().0, 1_795_465_480_000_000);
        assert_eq!(parse_iso_micros(b"2026-11-23T20:24:40.5-00:30").unwrap().0, 1_795_467_280_500_000);
        assert!(parse_iso_micros(b"2026-11-23 20:24:40Z").is_none());
    }

    #[test]
    fn legacy_header_dates() {
        let time = parse_legacy_header(b"Feb  6 12:14:14 host").unwrap();
        assert_eq!((time.month, time.day, time.ms_of_day), (2, 6, 44_054_000));
        assert!(parse_legacy_header(b"Feb 36 12:14:14").is_none());
    }

    #[test]
    fn named_zones_convert_to_utc_across_dst() {
        let mut paris = LocalZone::new("Europe/Paris").unwrap();
        let winter = parse_local_millis(b"23/Nov/2026:21:24:40.854").unwrap();
        assert_eq!(paris.to_utc(winter), 1_795_465_480_854);
        let summer = parse_local_millis(b"01/Jul/2026:12:00:00.000").unwrap();
        assert_eq!(paris.to_utc(summer), summer - 2 * 3_600_000);
        assert!(LocalZone::new("Mars/Olympus").is_err());
    }
}
