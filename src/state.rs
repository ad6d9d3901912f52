//! Where runs keep their state: the run lock, the journals (and the never-retry
//! memory read from them) and the reports. One directory per site, the same for every
//! user and every entry point (the shell, the plugin, cron, a systemd timer, the
//! charm's actions), so that none of them can overlap another's run or retry a
//! failover another saw fail.
//!
//! The rule, first match wins:
//! 1. `$JUJU_CAPI_RESTORE_STATE_DIR`: that directory, as given.
//! 2. the site-wide root exists (`/var/lib/juju-capi-restore`, or
//!    `$JUJU_CAPI_RESTORE_STATE_ROOT`): `<root>/<management project id>`. A run that
//!    cannot write there refuses to change anything.
//! 3. otherwise this user's own (`$XDG_STATE_HOME/juju-capi-restore`, else
//!    `~/.local/state/juju-capi-restore`): a machine where nobody has set up the
//!    site-wide root has one operator.
//!
//! The root is made by `window --install` (or the charm, or by hand: `install -d -m
//! 2770 -g <group> /var/lib/juju-capi-restore`). In a directory with the setgid bit,
//! files are made group-readable and -writable, so that root's cron job and an
//! operator in the group read each other's journals and share the lock.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::site::Site;

/// Names the state directory outright.
pub const DIR_VAR: &str = "JUJU_CAPI_RESTORE_STATE_DIR";

/// Names the site-wide root.
pub const ROOT_VAR: &str = "JUJU_CAPI_RESTORE_STATE_ROOT";

/// The site-wide root.
pub const ROOT: &str = "/var/lib/juju-capi-restore";

/// Which rule chose the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chosen {
    /// `$JUJU_CAPI_RESTORE_STATE_DIR`.
    Given,
    /// `<root>/<site>`.
    SiteWide,
    /// The user's own.
    PerUser,
}

/// A site's state directory and why it is the one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    /// The directory.
    pub path: PathBuf,
    /// The rule that chose it.
    pub chosen: Chosen,
}

/// A state directory a run cannot use.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot write the {what} state directory `{}` ({source}): the lock, the journals and the never-retry memory live there for every run (shell, cron, timer, charm), so this run changes nothing; {fix}",
    path.display()
)]
pub struct StateError {
    /// The directory.
    pub path: PathBuf,
    /// `site-wide`, or another word for it.
    pub what: &'static str,
    /// Why.
    pub source: std::io::Error,
    /// What to do.
    pub fix: String,
}

/// The site-wide root.
pub fn root(env: &Env) -> PathBuf {
    env.get(ROOT_VAR)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from(ROOT))
}

/// Makes the site-wide root (2770), when it is not there: the charm's unit, a
/// window's install.
pub fn make_root(env: &Env) -> std::io::Result<PathBuf> {
    let root = root(env);
    if !root.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o2770)
            .create(&root)?;
        shared_dir(&root)?;
    }
    Ok(root)
}

/// This user's own state directory.
pub fn per_user(env: &Env) -> PathBuf {
    // The XDG spec ignores a relative XDG_STATE_HOME; so does this, rather than put the
    // lock and the journal wherever the command happens to run.
    env.get("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env.get("HOME").map(|h| Path::new(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("juju-capi-restore")
}

fn given(env: &Env) -> Option<PathBuf> {
    env.get(DIR_VAR)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// The state directory for `site`, by the rule above.
pub fn for_site(env: &Env, site: &Site) -> StateDir {
    if let Some(path) = given(env) {
        return StateDir {
            path,
            chosen: Chosen::Given,
        };
    }
    let root = root(env);
    if root.is_dir() {
        return StateDir {
            path: root.join(site.management.project_id.as_str()),
            chosen: Chosen::SiteWide,
        };
    }
    StateDir {
        path: per_user(env),
        chosen: Chosen::PerUser,
    }
}

/// Where the charm keeps what it writes from its configuration (its key, its site
/// file): beside the sites' state, never in it.
pub fn charm_dir(env: &Env) -> PathBuf {
    given(env).unwrap_or_else(|| root(env)).join("charm")
}

/// Every directory of journals the `journal` command reads: the given one, each
/// site's under the root, and this user's own (journals from before the site-wide
/// root stay readable).
pub fn journal_dirs(env: &Env) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(path) = given(env) {
        dirs.push(path.join("runs"));
    }
    if let Ok(entries) = std::fs::read_dir(root(env)) {
        let mut sites: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path().join("runs")))
            .filter(|p| p.is_dir())
            .collect();
        sites.sort();
        dirs.extend(sites);
    }
    dirs.push(per_user(env).join("runs"));
    dirs.dedup();
    dirs
}

impl StateDir {
    /// Makes sure a run can write here (made when missing: group-shared under the
    /// site-wide root), or says what to do.
    pub fn writable(&self) -> Result<(), StateError> {
        let error = |source: std::io::Error| StateError {
            path: self.path.clone(),
            what: match self.chosen {
                Chosen::Given => "given (`JUJU_CAPI_RESTORE_STATE_DIR`)",
                Chosen::SiteWide => "site-wide",
                Chosen::PerUser => "per-user",
            },
            source,
            fix: match self.chosen {
                Chosen::SiteWide => format!(
                    "run as root, or as a member of the group of `{}` (it must be mode 2770: `sudo chmod 2770 {}`)",
                    self.path.parent().unwrap_or(&self.path).display(),
                    self.path.display()
                ),
                _ => {
                    "make it writable, or point `JUJU_CAPI_RESTORE_STATE_DIR` at one that is".into()
                }
            },
        };
        let mode = match self.chosen {
            Chosen::SiteWide => 0o2770,
            _ => 0o700,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(&self.path)
            .map_err(error)?;
        if self.chosen == Chosen::SiteWide {
            // The umask may have narrowed it.
            let _ = shared_dir(&self.path);
        }
        let probe = self.path.join(format!(
            ".writable.{}.{}",
            std::process::id(),
            crate::files::unique()
        ));
        std::fs::File::create(&probe).map_err(error)?;
        let _ = std::fs::remove_file(&probe);
        Ok(())
    }
}

/// Whether `dir` is group-shared (setgid, as the site-wide root is made).
pub fn is_shared(dir: &Path) -> bool {
    std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o2000 != 0)
}

/// The mode for a new file in `dir`: `private` (owner only), widened to the group
/// when `dir` is group-shared.
pub fn file_mode(dir: &Path, private: u32) -> u32 {
    if is_shared(dir) {
        private | ((private & 0o700) >> 3)
    } else {
        private
    }
}

/// Gives a directory made in a shared one the same sharing (2770), whatever the umask.
pub fn shared_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o2770))
}

/// Makes `dir` (and its parents) with `mode`, or 2770 when its parent is shared.
pub fn make_dir(dir: &Path, private: u32) -> std::io::Result<()> {
    let shared = dir.parent().is_some_and(is_shared);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(if shared { 0o2770 } else { private })
        .create(dir)?;
    if shared {
        shared_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site::new(crate::site::Management::new(
            crate::site::ProjectId::parse("674171fd28d446d3a37073b6a761e910").unwrap(),
            "capi-mgmt-v2".into(),
            "192.0.2.40".parse().unwrap(),
        ))
    }

    #[test]
    fn the_rule_given_then_site_wide_when_the_root_exists_then_per_user() {
        let home = tempfile::tempdir().unwrap();
        let root = home.path().join("var-lib");
        let h = home.path().to_str().unwrap();
        let r = root.to_str().unwrap();
        let env = Env::from_pairs([("HOME", h), (ROOT_VAR, r)]);
        assert_eq!(
            for_site(&env, &site()),
            StateDir {
                path: home.path().join(".local/state/juju-capi-restore"),
                chosen: Chosen::PerUser
            }
        );
        std::fs::create_dir(&root).unwrap();
        assert_eq!(
            for_site(&env, &site()),
            StateDir {
                path: root.join("674171fd28d446d3a37073b6a761e910"),
                chosen: Chosen::SiteWide
            }
        );
        let env = Env::from_pairs([("HOME", h), (ROOT_VAR, r), (DIR_VAR, "/srv/state")]);
        assert_eq!(for_site(&env, &site()).path, PathBuf::from("/srv/state"));
        // A relative override is ignored, as XDG's are.
        let env = Env::from_pairs([("HOME", h), (DIR_VAR, "state")]);
        assert_eq!(for_site(&env, &site()).chosen, Chosen::PerUser);
    }

    #[test]
    fn files_in_a_shared_directory_are_the_groups_too() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(file_mode(dir.path(), 0o600), 0o600);
        shared_dir(dir.path()).unwrap();
        assert_eq!(file_mode(dir.path(), 0o600), 0o660);
        make_dir(&dir.path().join("runs"), 0o700).unwrap();
        assert!(is_shared(&dir.path().join("runs")));
    }
}
