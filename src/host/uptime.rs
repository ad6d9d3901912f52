//! Parsing `uptime` (runbook block "mgmt k8s readiness poll"): how long the VM has
//! been up and its load averages, the cold-start evidence on a 2-vCPU flavor.
//!
//! procps prints ` 10:15:02 up 12 min,  1 user,  load average: 101.23, 85.10, 40.02`;
//! the uptime part may be `2:03`, `1 day,  2:03`, `3 days, 15 min` or `0 min`, and
//! some locales write `0,52` for 0.52. BSD's `load averages: 1.2 1.3 1.4` is accepted.

use std::time::Duration;

use serde::Serialize;

/// What `uptime` says.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Uptime {
    /// Time since boot, when it could be read.
    pub up: Option<Duration>,
    /// 1, 5 and 15 minute load averages.
    pub load: [f64; 3],
}

/// Parses one `uptime` line; None when it has no load averages.
pub fn parse(text: &str) -> Option<Uptime> {
    let line = text.lines().find(|l| l.contains("load average"))?;
    let (before, after) = line.split_once("load average")?;
    let after = after.trim_start_matches('s').trim_start_matches(':');
    Some(Uptime {
        up: parse_up(before),
        load: parse_loads(after)?,
    })
}

fn parse_loads(text: &str) -> Option<[f64; 3]> {
    // Split on ", " or spaces; a comma followed by a digit is a decimal comma.
    let normalised = text.replace(", ", " ").replace(',', ".");
    let numbers: Vec<f64> = normalised
        .split_whitespace()
        .filter_map(|t| t.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0))
        .collect();
    (numbers.len() >= 3).then(|| [numbers[0], numbers[1], numbers[2]])
}

fn parse_up(text: &str) -> Option<Duration> {
    let (_, rest) = text.split_once(" up ").or_else(|| text.split_once("up "))?;
    let mut seconds = 0u64;
    let mut any = false;
    for part in rest.split(',').map(str::trim) {
        if part.is_empty() || part.contains("user") {
            break;
        }
        let words: Vec<&str> = part.split_whitespace().collect();
        match words.as_slice() {
            [n, unit] if unit.starts_with("day") => seconds += n.parse::<u64>().ok()? * 86400,
            [n, unit] if unit.starts_with("min") => seconds += n.parse::<u64>().ok()? * 60,
            [n, unit] if unit.starts_with("hour") || unit.starts_with("hr") => {
                seconds += n.parse::<u64>().ok()? * 3600
            }
            [n, unit] if unit.starts_with("sec") => seconds += n.parse::<u64>().ok()?,
            [hm] if hm.contains(':') => {
                let (h, m) = hm.split_once(':')?;
                seconds += h.parse::<u64>().ok()? * 3600 + m.parse::<u64>().ok()? * 60;
            }
            _ => return None,
        }
        any = true;
    }
    any.then(|| Duration::from_secs(seconds))
}

/// Which way the load is going, from the 1, 5 and 15 minute averages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadTrend {
    /// The last minute is well above the last quarter hour: the storm is building.
    Rising,
    /// About level, and busy.
    Peaking,
    /// The last minute is well below the longer averages: converging.
    Falling,
    /// Not busy: settled.
    Steady,
}

impl LoadTrend {
    /// Judges the trend for a host with `vcpus` CPUs.
    pub fn of(load: [f64; 3], vcpus: u32) -> LoadTrend {
        let [one, five, fifteen] = load;
        let cpus = f64::from(vcpus.max(1));
        // Below one runnable task per CPU the direction is noise: the host is settled.
        if one <= cpus && five <= cpus {
            LoadTrend::Steady
        } else if one > five * 1.15 && one > fifteen * 1.15 {
            LoadTrend::Rising
        } else if one < five * 0.85 {
            LoadTrend::Falling
        } else {
            LoadTrend::Peaking
        }
    }

    /// The word shown.
    pub fn word(self) -> &'static str {
        match self {
            LoadTrend::Rising => "rising",
            LoadTrend::Peaking => "peaking",
            LoadTrend::Falling => "falling",
            LoadTrend::Steady => "steady",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn procps_forms_parse() {
        let u = parse(" 10:15:02 up 12 min,  1 user,  load average: 101.23, 85.10, 40.02").unwrap();
        assert_eq!(u.up, Some(Duration::from_secs(12 * 60)));
        assert_eq!(u.load, [101.23, 85.10, 40.02]);
        assert_eq!(
            parse(" 10:15:02 up  2:03,  2 users,  load average: 0.00, 0.01, 0.05")
                .unwrap()
                .up,
            Some(Duration::from_secs(2 * 3600 + 3 * 60))
        );
        assert_eq!(
            parse(" 08:00:00 up 1 day,  2:03,  0 users,  load average: 1.00, 1.00, 1.00")
                .unwrap()
                .up,
            Some(Duration::from_secs(86400 + 7380))
        );
        assert_eq!(
            parse(" 08:00:00 up 3 days, 15 min,  1 user,  load average: 1.00, 1.00, 1.00")
                .unwrap()
                .up,
            Some(Duration::from_secs(3 * 86400 + 900))
        );
        assert_eq!(
            parse(" 08:00:00 up 0 min,  0 users,  load average: 0.52, 0.12, 0.04")
                .unwrap()
                .up,
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn decimal_commas_and_bsd_form_parse() {
        assert_eq!(
            parse(" 10:15:02 up 12 min,  1 user,  load average: 0,52, 0,58, 0,59")
                .unwrap()
                .load,
            [0.52, 0.58, 0.59]
        );
        assert_eq!(
            parse("10:15  up 2 days, 3 users, load averages: 1.20 1.30 1.40")
                .unwrap()
                .load,
            [1.2, 1.3, 1.4]
        );
    }

    #[test]
    fn noise_is_not_an_uptime() {
        assert_eq!(
            parse("Error: Failed to check the current node status."),
            None
        );
        assert_eq!(parse(""), None);
    }

    #[test]
    fn trends_follow_the_storm() {
        assert_eq!(LoadTrend::of([101.0, 60.0, 20.0], 2), LoadTrend::Rising);
        assert_eq!(LoadTrend::of([104.0, 100.0, 70.0], 2), LoadTrend::Peaking);
        assert_eq!(LoadTrend::of([12.0, 60.0, 80.0], 2), LoadTrend::Falling);
        assert_eq!(LoadTrend::of([0.4, 0.5, 0.5], 2), LoadTrend::Steady);
    }

    proptest! {
        #[test]
        fn never_panics(text in ".*") {
            let _ = parse(&text);
        }

        #[test]
        fn generated_lines_round_trip(mins in 0u64..1440, a in 0u32..20000, b in 0u32..20000, c in 0u32..20000) {
            let line = format!(" 10:00:00 up {}:{:02},  1 user,  load average: {}.{:02}, {}.{:02}, {}.{:02}", mins / 60, mins % 60, a / 100, a % 100, b / 100, b % 100, c / 100, c % 100);
            let u = parse(&line).unwrap();
            prop_assert_eq!(u.up, Some(Duration::from_secs(mins * 60)));
            prop_assert!((u.load[0] - f64::from(a) / 100.0).abs() < 1e-9);
        }
    }
}
