//! Small helpers for the sentences people read: counts with the right noun.

/// `1 amphora`, `2 amphorae`, `0 amphorae`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A duration as people say it, to the minute past a minute (`2h 3m`, `45s`).
pub fn duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    let rounded = if secs >= 60 { secs / 60 * 60 } else { secs };
    humantime::format_duration(std::time::Duration::from_secs(rounded)).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_everything_else_plural() {
        assert_eq!(super::count(1, "amphora", "amphorae"), "1 amphora");
        assert_eq!(super::count(0, "amphora", "amphorae"), "0 amphorae");
        assert_eq!(super::count(3, "server", "servers"), "3 servers");
    }
}
