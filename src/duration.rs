//! Durations as people write them (`250ms`, `2s`, `1m30s`, a bare number of seconds as in pod
//! YAML) and as probe prints them.

use std::time::Duration;

// `µs` and `ns` because `setting` prints sub-millisecond durations as Rust does (found by fuzzing).
const UNITS: [(&str, f64); 7] =
    [("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3600.0), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9)];

/// Parses `250ms`, `2s`, `1.5s`, `1m30s`, `1h`, or a bare number of seconds (`3`, `0.5`).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid = || "not a duration; write it as 250ms, 2s, 1m30s or 3 (seconds)".to_owned();
    if text.is_empty() {
        return Err(invalid());
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return from_seconds(seconds).ok_or_else(invalid);
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().map_err(|_| invalid())?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = UNITS
            .iter()
            .find(|(unit, _)| *unit == &rest[..unit_len])
            .map(|(_, scale)| scale)
            .ok_or_else(invalid)?;
        total += number * scale;
        rest = &rest[unit_len..];
    }
    from_seconds(total).ok_or_else(invalid)
}

/// Like [`parse`], but zero is refused: a deadline of nothing can only fail.
pub fn parse_positive(text: &str) -> Result<Duration, String> {
    match parse(text)? {
        Duration::ZERO => Err("must be longer than zero".to_owned()),
        duration => Ok(duration),
    }
}

/// Like [`parse`], for the pause between attempts: at least 10ms, since a shorter one only
/// spins (a wait is for a dependency that takes seconds to come up).
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    match parse(text)? {
        short if short < Duration::from_millis(10) => Err("must be at least 10ms".to_owned()),
        interval => Ok(interval),
    }
}

fn from_seconds(seconds: f64) -> Option<Duration> {
    // A year is far past any sensible probe deadline, and keeps Instant arithmetic from overflowing.
    (seconds.is_finite() && (0.0..=365.0 * 86400.0).contains(&seconds))
        .then(|| Duration::from_secs_f64(seconds))
}

/// A measured time: `0.3 ms`, `12.5 ms`, `2.31 s`.
pub fn elapsed(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{:.1} ms", duration.as_secs_f64() * 1e3)
    } else {
        format!("{:.2} s", duration.as_secs_f64())
    }
}

/// A duration the user chose, in the syntax they would write it: `900ms`, `2s`, `1.5s`.
pub fn setting(duration: Duration) -> String {
    let millis = duration.as_millis();
    if !duration.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{duration:?}")
    } else if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else if millis < 1000 {
        format!("{millis}ms")
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn parses_what_people_write() {
        assert_eq!(parse("250ms"), Ok(ms(250)));
        assert_eq!(parse("2s"), Ok(ms(2000)));
        assert_eq!(parse("1.5s"), Ok(ms(1500)));
        assert_eq!(parse("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse("1h"), Ok(ms(3_600_000)));
        assert_eq!(parse("3"), Ok(ms(3000)));
        assert_eq!(parse("0.5"), Ok(ms(500)));
        assert_eq!(parse(" 10 "), Ok(ms(10_000)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("500us"), Ok(Duration::from_micros(500)));
    }

    #[test]
    fn refuses_everything_else_with_the_bad_text_quoted() {
        for bad in
            ["", "s", "ms", "-1", "-1s", "2x", "1.2.3s", "NaN", "inf", "1e400", "9999999h", "2 s", "s2"]
        {
            assert!(parse(bad).expect_err(bad).contains("not a duration"), "{bad}");
        }
        assert!(parse_positive("0s").unwrap_err().contains("longer than zero"));
        assert!(parse_interval("0").unwrap_err().contains("at least 10ms"));
        assert!(parse_interval("9ms").unwrap_err().contains("at least 10ms"));
        assert_eq!(parse_interval("10ms"), Ok(ms(10)));
    }

    #[test]
    fn prints_measurements_and_settings() {
        assert_eq!(elapsed(Duration::from_micros(2140)), "2.1 ms");
        assert_eq!(elapsed(ms(2310)), "2.31 s");
        assert_eq!(setting(ms(900)), "900ms");
        assert_eq!(setting(ms(2000)), "2s");
        assert_eq!(setting(ms(1500)), "1.5s");
        assert_eq!(setting(Duration::from_micros(1500)), "1.5ms");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panic(text in any::<String>()) {
            if let Err(why) = parse(&text) {
                prop_assert!(why.contains("not a duration"));
            }
        }

        #[test]
        fn a_sub_millisecond_setting_reads_back(micros in 1u64..1000) {
            let duration = Duration::from_micros(micros);
            prop_assert_eq!(parse(&setting(duration)), Ok(duration));
        }

        #[test]
        fn what_it_prints_it_reads_back(millis in 1u64..100_000_000) {
            let duration = Duration::from_millis(millis);
            prop_assert_eq!(parse(&setting(duration)), Ok(duration));
        }
    }
}
