//! The process environment, read once: the variables the tool uses (credentials,
//! Juju's, XDG's, `HOME`), with a non-UTF-8 value named and never kept.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// A snapshot of the environment variables credentials may come from.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    /// Names of variables whose value is not UTF-8 (the values are never kept).
    unreadable: Vec<String>,
}

impl Env {
    /// The process environment. A variable that is not UTF-8 is left out and its name
    /// remembered, never its value: a Latin-1 `OS_PASSWORD` must not end up in cron
    /// mail, nor crash the run.
    pub fn from_process() -> Env {
        let mut vars = BTreeMap::new();
        let mut unreadable = Vec::new();
        for (name, value) in std::env::vars_os() {
            match (name.into_string(), value.into_string()) {
                (Ok(name), Ok(value)) => {
                    vars.insert(name, value);
                }
                (Ok(name), Err(_)) => unreadable.push(name),
                (Err(name), _) => unreadable.push(name.to_string_lossy().into_owned()),
            }
        }
        Env { vars, unreadable }
    }

    /// Variables this tool reads (`OS_*`, `JUJU_*`, `XDG_*`, `HOME`, `KUBECONFIG`)
    /// whose value is not UTF-8: bad input. Any other is ignored.
    pub fn unreadable(&self) -> Vec<&str> {
        self.unreadable
            .iter()
            .map(String::as_str)
            .filter(|n| {
                ["OS_", "JUJU_", "XDG_"].iter().any(|p| n.starts_with(p))
                    || matches!(*n, "HOME" | "KUBECONFIG")
            })
            .collect()
    }

    /// A given set of variables (tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Env {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            unreadable: Vec::new(),
        }
    }

    /// The same environment with `name` set to `value` (the charm's defaults).
    pub fn with(mut self, name: &str, value: &str) -> Env {
        self.vars.insert(name.to_string(), value.to_string());
        self
    }

    /// A variable, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn home(&self) -> Option<PathBuf> {
        self.get("HOME").map(PathBuf::from)
    }

    /// The variables whose name starts with `prefix`, set and not empty.
    pub fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a String)> {
        self.vars
            .iter()
            .filter(move |(k, v)| k.starts_with(prefix) && !v.is_empty())
    }

    /// Expands a leading `~/` with this environment's `HOME`.
    pub fn expand_home(&self, path: &str) -> PathBuf {
        match (path.strip_prefix("~/"), self.home()) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => PathBuf::from(path),
        }
    }

    /// The user's config directory (`$XDG_CONFIG_HOME` or `~/.config`).
    pub fn config_dir(&self) -> Option<PathBuf> {
        self.get("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| self.home().map(|h| h.join(".config")))
    }
}
