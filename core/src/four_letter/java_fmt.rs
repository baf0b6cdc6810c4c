//! How Java prints the values ZooKeeper's four-letter words contain: `Long.toHexString`, a `double` rounded
//! to 4 places (AvgMinMaxCounter.getAvg), and `java.util.Date.toString()` (always in UTC here).

/// `Long.toHexString`: lower-case hex of the two's-complement bits, so -1 is `ffffffffffffffff`.
pub fn hex(v: i64) -> String {
    format!("{:x}", v as u64)
}

/// Rounds half-up to 4 decimal places, as ZooKeeper does for average latencies.
pub fn round4(v: f64) -> f64 {
    if !v.is_finite() {
        return 0.0;
    }
    let scaled = v * 10_000.0;
    // Half-up on the magnitude (BigDecimal HALF_UP rounds away from zero); guard against 0.49999... noise.
    let rounded = (scaled.abs() + 0.5 + 1e-9).floor().copysign(scaled);
    rounded / 10_000.0
}

/// `Double.toString` for the values ZooKeeper prints: at least one digit after the point ("0.0", "5.5714"),
/// scientific notation from 10^7 up ("1.0E7").
pub fn double(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e7).contains(&a) {
        let exp = a.log10().floor() as i32;
        let mantissa = v / 10f64.powi(exp);
        let m = with_point(format!("{mantissa}"));
        return format!("{m}E{exp}");
    }
    with_point(format!("{v}"))
}

fn with_point(s: String) -> String {
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

/// `java.util.Date.toString()` in UTC: `Wed Nov 25 23:56:42 UTC 2026`.
pub fn date(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let weekday = WEEKDAYS[days.rem_euclid(7) as usize];
    let month_name = MONTHS[(month - 1) as usize];
    format!(
        "{weekday} {month_name} {day:02} {:02}:{:02}:{:02} UTC {year}",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_matches_long_to_hex_string() {
        assert_eq!(hex(0), "0");
        assert_eq!(hex(0x0100_000b_fcbd_0001), "100000bfcbd0001");
        assert_eq!(hex(-1), "ffffffffffffffff");
    }

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(double(0.0), "0.0");
        assert_eq!(double(4.875), "4.875");
        assert_eq!(double(round4(39.0 / 7.0)), "5.5714");
        assert_eq!(double(12.0), "12.0");
        assert_eq!(double(1e7), "1.0E7");
        assert_eq!(double(0.0625), "0.0625");
    }

    #[test]
    fn round4_is_half_up() {
        assert_eq!(round4(0.00005), 0.0001);
        assert_eq!(round4(1.23444), 1.2344);
        assert_eq!(round4(2.0 / 3.0), 0.6667);
    }

    #[test]
    fn dates_print_like_java_util_date_in_utc() {
        assert_eq!(date(0), "Thu Jan 01 00:00:00 UTC 1970");
        // 30 s after the `est=1795650972457` of fixtures/standalone_cons.txt, as that server's `dump` printed it.
        assert_eq!(date(1_795_651_002_457), "Wed Nov 25 23:56:42 UTC 2026");
        assert_eq!(date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
        assert_eq!(date(-1), "Wed Dec 31 23:59:59 UTC 1969");
    }
}
