//! Maintenance windows: the stack parked at a window's start and restored at its
//! end, with nobody watching. A window definition (`templates/window.yaml`) says
//! when, in which time zone, for which site; from it come the systemd timers or the
//! `/etc/cron.d` file that run `park` and `restore` (and the pre-flight `window
//! check`), and the rule that refuses a park that fires too late. Pure: nothing here
//! touches the network or the disk but the definition it reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime as Zoned};
use serde::Deserialize;

/// How long after its time a park may still start: a timer a little late is fine,
/// a catch-up hours later (the machine was down) is not.
pub const LATE_AFTER: Duration = Duration::from_secs(30 * 60);

/// The least time a park must leave before the window's restore.
pub const MIN_PARKED: Duration = Duration::from_secs(15 * 60);

/// What runs the scheduled commands.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Scheduler {
    /// A service and timer per command, in /etc/systemd/system.
    #[default]
    Systemd,
    /// One file in /etc/cron.d.
    Cron,
}

/// A window definition as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Definition {
    name: String,
    park: String,
    restore: String,
    #[serde(default = "utc")]
    time_zone: String,
    site: PathBuf,
    #[serde(default)]
    cloud: Option<String>,
    #[serde(default)]
    scheduler: Scheduler,
    #[serde(default = "root_user")]
    user: String,
    #[serde(default)]
    mail_to: Option<String>,
    #[serde(default, with = "optional_duration")]
    preflight: Option<Duration>,
    #[serde(default)]
    prometheus_dir: Option<PathBuf>,
    #[serde(default)]
    binary: Option<PathBuf>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    command_prefix: Vec<String>,
    #[serde(default)]
    charm: bool,
}

fn utc() -> String {
    "UTC".into()
}

fn root_user() -> String {
    "root".into()
}

mod optional_duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            humantime::parse_duration(&t).map_err(|e| {
                serde::de::Error::custom(format!("`{t}` is not a duration like `1h` ({e})"))
            })
        })
        .transpose()
    }
}

/// A checked window.
#[derive(Debug, Clone)]
pub struct Window {
    /// Its name: the files written are named after it.
    pub name: String,
    /// The definition's own path (the scheduled runs carry it).
    pub file: PathBuf,
    /// When the stack is parked.
    pub park: Schedule,
    /// When it is restored.
    pub restore: Schedule,
    /// The time zone of both.
    pub zone: TimeZone,
    /// Its IANA name.
    pub zone_name: String,
    /// The site file.
    pub site: PathBuf,
    /// The clouds.yaml cloud.
    pub cloud: Option<String>,
    /// systemd or cron.
    pub scheduler: Scheduler,
    /// Who cron runs the commands as.
    pub user: String,
    /// Where cron mails the output.
    pub mail_to: Option<String>,
    /// The pre-flight check, this long before the park.
    pub preflight: Option<Duration>,
    /// The node-exporter textfile directory.
    pub prometheus_dir: Option<PathBuf>,
    /// The binary the scheduled commands run.
    pub binary: Option<PathBuf>,
    /// Extra environment of the scheduled commands (no secrets: they sit in files).
    pub environment: BTreeMap<String, String>,
    /// Words before the command, which then goes as one word (the charm's
    /// `juju-exec UNIT`, which runs it in a hook context).
    pub command_prefix: Vec<String>,
    /// The runs read the charm's configuration (`--charm`).
    pub charm: bool,
}

/// A weekly time: on some weekdays (every day when none) at a time of day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The weekdays, Monday first; empty: every day.
    pub days: Vec<Weekday>,
    /// Hour, 0-23.
    pub hour: i8,
    /// Minute, 0-59.
    pub minute: i8,
}

/// Why a window definition cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("window definition `{}`: {message}", path.display())]
pub struct WindowError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong and how to fix it.
    pub message: String,
}

const DAYS: [(&str, Weekday); 7] = [
    ("Mon", Weekday::Monday),
    ("Tue", Weekday::Tuesday),
    ("Wed", Weekday::Wednesday),
    ("Thu", Weekday::Thursday),
    ("Fri", Weekday::Friday),
    ("Sat", Weekday::Saturday),
    ("Sun", Weekday::Sunday),
];

fn day_name(day: Weekday) -> &'static str {
    DAYS.iter().find(|(_, d)| *d == day).map_or("?", |(n, _)| n)
}

impl Schedule {
    /// `[DAYS] HH:MM`: DAYS is `Fri`, `Mon,Wed`, `Mon..Fri` (systemd's words); none is
    /// every day.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (days_text, time) = match words.as_slice() {
            [time] => (None, *time),
            [days, time] => (Some(*days), *time),
            _ => return Err(format!("`{text}` is not `[DAYS] HH:MM` (e.g. `Fri 22:00`)")),
        };
        let (h, m) = time
            .split_once(':')
            .ok_or_else(|| format!("`{time}` is not a time `HH:MM`"))?;
        let hour: i8 = h
            .parse()
            .ok()
            .filter(|h| (0..24).contains(h))
            .ok_or_else(|| format!("`{time}`: the hour must be 0-23"))?;
        let minute: i8 = m
            .parse()
            .ok()
            .filter(|m| (0..60).contains(m))
            .ok_or_else(|| format!("`{time}`: the minute must be 0-59"))?;
        let day = |name: &str| {
            DAYS.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, d)| *d)
                .ok_or_else(|| format!("`{name}` is not a weekday (Mon, Tue, ... Sun)"))
        };
        let mut days = Vec::new();
        if let Some(text) = days_text {
            for part in text.split(',') {
                match part.split_once("..") {
                    Some((from, to)) => {
                        let (from, to) = (day(from)?, day(to)?);
                        let mut d = from;
                        loop {
                            days.push(d);
                            if d == to {
                                break;
                            }
                            d = d.next();
                        }
                    }
                    None => days.push(day(part)?),
                }
            }
        }
        days.sort_by_key(|d| d.to_monday_zero_offset());
        days.dedup();
        Ok(Schedule { days, hour, minute })
    }

    /// As written back: `Fri 22:00`.
    pub fn text(&self) -> String {
        let time = format!("{:02}:{:02}", self.hour, self.minute);
        if self.days.is_empty() {
            time
        } else {
            let days: Vec<&str> = self.days.iter().map(|d| day_name(*d)).collect();
            format!("{} {time}", days.join(","))
        }
    }

    /// systemd's `OnCalendar=`: `Fri *-*-* 22:00:00 Europe/Berlin`.
    pub fn on_calendar(&self, zone: &str) -> String {
        let days: Vec<&str> = self.days.iter().map(|d| day_name(*d)).collect();
        let days = if days.is_empty() {
            String::new()
        } else {
            format!("{} ", days.join(","))
        };
        format!("{days}*-*-* {:02}:{:02}:00 {zone}", self.hour, self.minute)
    }

    /// cron's day-of-week field (0 is Sunday), `*` for every day.
    pub fn cron_days(&self) -> String {
        if self.days.is_empty() {
            return "*".into();
        }
        let numbers: Vec<String> = self
            .days
            .iter()
            .map(|d| d.to_sunday_zero_offset().to_string())
            .collect();
        numbers.join(",")
    }

    /// The same schedule `before` earlier (whole minutes; days shift when it crosses
    /// midnight).
    pub fn earlier(&self, before: Duration) -> Schedule {
        let minutes = (before.as_secs() / 60) as i64;
        let at = i64::from(self.hour) * 60 + i64::from(self.minute) - minutes;
        let day_shift = at.div_euclid(24 * 60);
        let at = at.rem_euclid(24 * 60);
        Schedule {
            days: self
                .days
                .iter()
                .map(|d| d.wrapping_add(day_shift))
                .collect(),
            hour: (at / 60) as i8,
            minute: (at % 60) as i8,
        }
    }

    fn on(&self, date: Date, zone: &TimeZone) -> Option<Zoned> {
        if !self.days.is_empty() && !self.days.contains(&date.weekday()) {
            return None;
        }
        date.at(self.hour, self.minute, 0, 0)
            .to_zoned_datetime(zone.clone())
            .ok()
    }

    /// The first firing strictly after `after`.
    pub fn next_after(&self, after: Timestamp, zone: &TimeZone) -> Zoned {
        let start = after.to_zoned_datetime(zone.clone()).date();
        (0..9)
            .filter_map(|n| start.checked_add(jiff::Span::new().days(n)).ok())
            .filter_map(|d| self.on(d, zone))
            .find(|z| z.timestamp() > after)
            .expect("a weekly schedule fires within 8 days")
    }

    /// The last firing at or before `at`.
    pub fn last_at_or_before(&self, at: Timestamp, zone: &TimeZone) -> Zoned {
        let start = at.to_zoned_datetime(zone.clone()).date();
        (0..9)
            .filter_map(|n| start.checked_sub(jiff::Span::new().days(n)).ok())
            .filter_map(|d| self.on(d, zone))
            .find(|z| z.timestamp() <= at)
            .expect("a weekly schedule fired within 8 days")
    }

    /// The next `n` firings after `after`.
    pub fn next(&self, after: Timestamp, zone: &TimeZone, n: usize) -> Vec<Zoned> {
        let mut times = Vec::with_capacity(n);
        let mut t = after;
        for _ in 0..n {
            let next = self.next_after(t, zone);
            t = next.timestamp();
            times.push(next);
        }
        times
    }
}

/// What a scheduled park finds when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParkTime {
    /// In time: the window it belongs to, parked until its restore.
    InTime {
        /// When the park was due.
        due: Timestamp,
        /// When the window's restore comes.
        restore: Timestamp,
    },
    /// Later than [`LATE_AFTER`] after it was due (a catch-up after downtime, a
    /// delayed timer).
    Late {
        /// When it was due.
        due: Timestamp,
    },
    /// The window's restore is past or too near ([`MIN_PARKED`]).
    RestoreDue {
        /// When the park was due.
        due: Timestamp,
        /// When the restore is.
        restore: Timestamp,
    },
}

impl Window {
    /// Reads and checks a window definition.
    pub fn load(path: &Path) -> Result<Window, WindowError> {
        let error = |message: String| WindowError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            error(format!(
                "cannot read it ({e}); write one from `juju-capi-restore window template`"
            ))
        })?;
        let definition: Definition =
            serde_saphyr::from_str(&text).map_err(|e| error(e.to_string()))?;
        let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        Window::check(definition, file).map_err(error)
    }

    fn check(d: Definition, file: PathBuf) -> Result<Window, String> {
        // Debian's cron reads only /etc/cron.d files named like this.
        if d.name.is_empty()
            || !d
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "`name: {}` must be letters, digits, `_` and `-` only (cron.d ignores any other file name)",
                d.name
            ));
        }
        let park = Schedule::parse(&d.park).map_err(|e| format!("`park`: {e}"))?;
        let restore = Schedule::parse(&d.restore).map_err(|e| format!("`restore`: {e}"))?;
        let zone = TimeZone::get(&d.time_zone).map_err(|e| {
            format!(
                "`time_zone: {}` is not a time zone this machine knows ({e}); use an IANA name like `Europe/Berlin`",
                d.time_zone
            )
        })?;
        for (what, path) in [("site", Some(&d.site)), ("binary", d.binary.as_ref())]
            .into_iter()
            .filter_map(|(w, p)| p.map(|p| (w, p)))
        {
            if !path.is_absolute() {
                return Err(format!(
                    "`{what}: {}` must be an absolute path (the scheduled run starts in `/`)",
                    path.display()
                ));
            }
        }
        for (key, value) in &d.environment {
            if key.is_empty()
                || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || value.contains('\n')
            {
                return Err(format!(
                    "`environment: {key}` must be a variable name with a one-line value"
                ));
            }
        }
        Ok(Window {
            name: d.name,
            file,
            park,
            restore,
            zone,
            zone_name: d.time_zone,
            site: d.site,
            cloud: d.cloud,
            scheduler: d.scheduler,
            user: d.user,
            mail_to: d.mail_to,
            preflight: d.preflight,
            prometheus_dir: d.prometheus_dir,
            binary: d.binary,
            environment: d.environment,
            command_prefix: d.command_prefix,
            charm: d.charm,
        })
    }

    /// Whether a park starting `now` belongs to its window.
    pub fn park_time(&self, now: Timestamp) -> ParkTime {
        let due = self.park.last_at_or_before(now, &self.zone).timestamp();
        let restore = self.restore.next_after(due, &self.zone).timestamp();
        let since_due = now.duration_since(due).unsigned_abs();
        let until_restore = restore.duration_since(now);
        if until_restore.is_negative() || until_restore.unsigned_abs() < MIN_PARKED {
            ParkTime::RestoreDue { due, restore }
        } else if since_due > LATE_AFTER {
            ParkTime::Late { due }
        } else {
            ParkTime::InTime { due, restore }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(park: &str, restore: &str) -> Window {
        Window::check(
            Definition {
                name: "weekend".into(),
                park: park.into(),
                restore: restore.into(),
                time_zone: "Europe/Berlin".into(),
                site: "/etc/juju-capi-restore/site.yaml".into(),
                cloud: None,
                scheduler: Scheduler::Systemd,
                user: "root".into(),
                mail_to: None,
                preflight: None,
                prometheus_dir: None,
                binary: None,
                environment: BTreeMap::new(),
                command_prefix: Vec::new(),
                charm: false,
            },
            "/etc/juju-capi-restore/weekend.yaml".into(),
        )
        .unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse::<Zoned>().unwrap().timestamp()
    }

    /// The files a window writes, as one text.
    fn rendered(mut w: Window) -> String {
        w.preflight = Some(Duration::from_secs(3600));
        w.prometheus_dir = Some("/var/lib/prometheus/node-exporter".into());
        w.mail_to = Some("ops@example.com".into());
        w.cloud = Some("capi-restore".into());
        w.render(Path::new("/usr/local/bin/juju-capi-restore"))
            .unwrap()
            .iter()
            .map(|f| format!("==> /{} <==\n{}", f.path.display(), f.text))
            .collect()
    }

    #[test]
    fn the_systemd_units_read_as_they_did() {
        insta::assert_snapshot!(rendered(window("Fri 22:00", "Mon 06:00")));
    }

    #[test]
    fn the_cron_d_file_reads_as_it_did_with_percent_escaped() {
        let mut w = window("Mon..Fri 22:00", "Mon..Fri 23:30");
        w.scheduler = Scheduler::Cron;
        w.zone_name = "UTC".into();
        w.site = "/etc/juju-capi-restore/site 100%.yaml".into();
        let text = rendered(w);
        assert!(
            text.contains("'/etc/juju-capi-restore/site 100\\%.yaml'"),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn schedules_read_and_write_as_systemd_and_cron_do() {
        let s = Schedule::parse("Fri 22:00").unwrap();
        assert_eq!(
            s.on_calendar("Europe/Berlin"),
            "Fri *-*-* 22:00:00 Europe/Berlin"
        );
        assert_eq!(s.cron_days(), "5");
        let s = Schedule::parse("Mon..Fri 06:30").unwrap();
        assert_eq!(s.text(), "Mon,Tue,Wed,Thu,Fri 06:30");
        assert_eq!(s.cron_days(), "1,2,3,4,5");
        assert_eq!(Schedule::parse("22:00").unwrap().cron_days(), "*");
        for bad in ["Fri", "Fri 25:00", "Fry 22:00", "Fri 22:60", "Fri 22"] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
        // An hour before Monday 00:30 is Sunday 23:30.
        let early = Schedule::parse("Mon 00:30")
            .unwrap()
            .earlier(Duration::from_secs(3600));
        assert_eq!(early.text(), "Sun 23:30");
    }

    #[test]
    fn the_next_firings_follow_the_time_zone_across_daylight_saving() {
        let w = window("Sat 22:00", "Sun 06:00");
        // 2026-10-25 is the Sunday Berlin leaves summer time.
        let next = w
            .park
            .next(at("2026-10-20T00:00:00+02:00[Europe/Berlin]"), &w.zone, 3);
        let utc: Vec<String> = next.iter().map(|z| z.timestamp().to_string()).collect();
        assert_eq!(
            utc,
            [
                "2026-10-24T20:00:00Z",
                "2026-10-31T21:00:00Z",
                "2026-11-07T21:00:00Z"
            ]
        );
    }

    #[test]
    fn a_park_is_in_time_late_or_too_near_the_restore() {
        let w = window("Sat 22:00", "Sun 06:00");
        let due = at("2026-12-05T22:00:00+01:00[Europe/Berlin]");
        assert!(matches!(
            w.park_time(at("2026-12-05T22:01:00+01:00[Europe/Berlin]")),
            ParkTime::InTime { due: d, .. } if d == due
        ));
        assert_eq!(
            w.park_time(at("2026-12-05T23:00:00+01:00[Europe/Berlin]")),
            ParkTime::Late { due }
        );
        assert!(matches!(
            w.park_time(at("2026-12-06T05:50:00+01:00[Europe/Berlin]")),
            ParkTime::RestoreDue { .. }
        ));
        // After the restore: that window is over (and the park late for it).
        assert!(matches!(
            w.park_time(at("2026-12-06T07:00:00+01:00[Europe/Berlin]")),
            ParkTime::RestoreDue { .. }
        ));
    }
}

/// One file a window installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Its path, relative to the root it is installed under (`etc/...`).
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// A scheduled command of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `window check`, ahead of the park.
    Check,
    /// `park --yes`.
    Park,
    /// `restore --yes`.
    Restore,
}

impl Job {
    /// Its word in file names and messages: `check`, `park`, `restore`.
    pub fn name(self) -> &'static str {
        match self {
            Job::Check => "check",
            Job::Park => "park",
            Job::Restore => "restore",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Job::Check => "pre-flight check of the park",
            Job::Park => "park the CAPI management stack",
            Job::Restore => "restore the CAPI management stack",
        }
    }

    /// How long systemd lets it run: a restore waits through a ~30 min cold start.
    fn timeout(self) -> &'static str {
        match self {
            Job::Check => "10min",
            Job::Park => "30min",
            Job::Restore => "2h",
        }
    }
}

const SERVICE: &str = include_str!("../templates/window/unit.service.j2");
const TIMER: &str = include_str!("../templates/window/unit.timer.j2");
const CRON: &str = include_str!("../templates/window/cron.d.j2");

impl Window {
    /// The name of `job`'s systemd service and timer, without the suffix.
    pub fn unit_stem(&self, job: Job) -> String {
        format!("juju-capi-restore-{}-{}", self.name, job.name())
    }

    /// Its jobs with their schedules: the check (when asked for), the park, the restore.
    pub fn jobs(&self) -> Vec<(Job, Schedule)> {
        let mut jobs = Vec::new();
        if let Some(before) = self.preflight {
            jobs.push((Job::Check, self.park.earlier(before)));
        }
        jobs.push((Job::Park, self.park.clone()));
        jobs.push((Job::Restore, self.restore.clone()));
        jobs
    }

    /// The command line of `job`, as words.
    pub fn command(&self, job: Job, binary: &Path) -> Vec<String> {
        let mut words = vec![
            binary.display().to_string(),
            "--site".into(),
            self.site.display().to_string(),
        ];
        if let Some(cloud) = &self.cloud {
            words.extend(["--cloud".into(), cloud.clone()]);
        }
        if self.charm {
            words.push("--charm".into());
        }
        match job {
            Job::Check => words.extend(["window".into(), "check".into()]),
            Job::Park => words.extend(["park".into(), "--yes".into(), "--window".into()]),
            Job::Restore => words.extend(["restore".into(), "--yes".into(), "--window".into()]),
        }
        words.push(self.file.display().to_string());
        if self.command_prefix.is_empty() {
            words
        } else {
            let mut wrapped = self.command_prefix.clone();
            wrapped.push(words.join(" "));
            wrapped
        }
    }

    fn environment(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(dir) = &self.prometheus_dir {
            env.push((
                crate::prometheus::DIR_VAR.to_string(),
                dir.display().to_string(),
            ));
        }
        env
    }

    /// The files that run the window, for `binary`, by its scheduler.
    pub fn render(&self, binary: &Path) -> Result<Vec<Rendered>, String> {
        let mut env = minijinja::Environment::new();
        env.set_keep_trailing_newline(true);
        let template = |text: &'static str, context: minijinja::Value| {
            env.render_str(text, context).map_err(|e| e.to_string())
        };
        let window_file = self.file.display().to_string();
        match self.scheduler {
            Scheduler::Systemd => {
                let mut files = Vec::new();
                for (job, schedule) in self.jobs() {
                    let stem = self.unit_stem(job);
                    let service = format!("{stem}.service");
                    let timer = format!("{stem}.timer");
                    let command = self
                        .command(job, binary)
                        .iter()
                        .map(|w| systemd_word(w))
                        .collect::<Result<Vec<_>, _>>()?
                        .join(" ");
                    let environment: Vec<(String, String)> = self
                        .environment()
                        .into_iter()
                        .map(|(k, v)| Ok((k, systemd_word(&v)?)))
                        .collect::<Result<_, String>>()?;
                    files.push(Rendered {
                        path: Path::new("etc/systemd/system").join(&service),
                        text: template(
                            SERVICE,
                            minijinja::context! {
                                file => service, window_file => window_file, name => self.name,
                                action => job.name(), what => job.what(), command => command,
                                environment => environment, timeout => job.timeout(),
                            },
                        )?,
                    });
                    files.push(Rendered {
                        path: Path::new("etc/systemd/system").join(&timer),
                        text: template(
                            TIMER,
                            minijinja::context! {
                                file => timer, window_file => window_file, name => self.name,
                                what => job.what(), schedule => schedule.text(),
                                on_calendar => schedule.on_calendar(&self.zone_name),
                                service => service,
                            },
                        )?,
                    });
                }
                Ok(files)
            }
            Scheduler::Cron => {
                let file = format!("juju-capi-restore-{}", self.name);
                let jobs: Vec<BTreeMap<&str, String>> = self
                    .jobs()
                    .into_iter()
                    .map(|(job, schedule)| {
                        let command = self
                            .command(job, binary)
                            .iter()
                            .map(|w| cron_word(w))
                            .collect::<Result<Vec<_>, _>>()?
                            .join(" ");
                        Ok(BTreeMap::from([
                            ("minute", schedule.minute.to_string()),
                            ("hour", schedule.hour.to_string()),
                            ("days", schedule.cron_days()),
                            ("command", command),
                        ]))
                    })
                    .collect::<Result<_, String>>()?;
                let environment: Vec<(String, String)> = self
                    .environment()
                    .into_iter()
                    .map(|(k, v)| Ok((k, cron_value(&v)?)))
                    .collect::<Result<_, String>>()?;
                if !self
                    .user
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                {
                    return Err(format!("`user: {}` is not a user name", self.user));
                }
                Ok(vec![Rendered {
                    path: Path::new("etc/cron.d").join(&file),
                    text: template(
                        CRON,
                        minijinja::context! {
                            file => file, window_file => window_file, name => self.name,
                            time_zone => self.zone_name, user => self.user,
                            mail_to => self.mail_to.clone().unwrap_or_default(),
                            environment => environment, jobs => jobs,
                        },
                    )?,
                }])
            }
        }
    }
}

/// One word of an `ExecStart=` or `Environment=` value: `%` doubled (systemd's
/// specifiers), quoted when it has a space; refused when it has a quote, a
/// backslash or a newline.
fn systemd_word(word: &str) -> Result<String, String> {
    if word.chars().any(|c| matches!(c, '"' | '\'' | '\\' | '\n')) {
        return Err(format!(
            "`{word}` has a quote, a backslash or a newline: give the window paths without them"
        ));
    }
    let word = word.replace('%', "%%");
    Ok(if word.contains(' ') || word.is_empty() {
        format!("\"{word}\"")
    } else {
        word
    })
}

/// One word of a cron command (run by /bin/sh): single-quoted when it needs it, and
/// `%` escaped (cron turns a bare one into a newline).
fn cron_word(word: &str) -> Result<String, String> {
    if word.contains('\n') {
        return Err(format!("`{word}` has a newline"));
    }
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:,+@".contains(c));
    let word = if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    };
    Ok(word.replace('%', "\\%"))
}

/// A value of a cron.d environment line: taken to the end of the line as it is, so
/// no newline and no leading or trailing space.
fn cron_value(value: &str) -> Result<String, String> {
    if value.contains('\n') || value.trim() != value {
        return Err(format!(
            "`{value}` cannot be a cron.d environment value (a newline, or spaces at an end)"
        ));
    }
    Ok(value.to_string())
}
