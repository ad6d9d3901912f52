//! One run at a time: two cron windows, or a cron window and an operator, never act
//! on the same stack together. The lock is the kernel's (`flock`), so a killed run
//! releases it; the file says who holds it.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Who this process runs as: the user's name where the environment gives it, and
/// the uid (a cron job's `LOGNAME`, a shell's `USER`).
fn who() -> String {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    match std::env::var("USER").or_else(|_| std::env::var("LOGNAME")) {
        Ok(name) if !name.is_empty() => format!("user `{name}` (uid {uid})"),
        _ => format!("uid {uid}"),
    }
}

/// A held run lock; released on drop (or by the kernel when the process dies).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Another run holds the lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Held by someone else.
    #[error("another run holds `{}`: {holder}\nwait for it to finish (or, if that process is gone, the lock frees itself)", path.display())]
    Held {
        /// The lock file.
        path: PathBuf,
        /// What the holder wrote: pid, start time, command.
        holder: String,
    },
    /// The lock file cannot be opened.
    #[error("cannot open the lock `{}`: {source}\nthe state directory must be writable by this user: fix it, or set `JUJU_CAPI_RESTORE_STATE_DIR` to one that is", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl RunLock {
    /// Takes the lock at `dir`/lock, or says who has it.
    pub fn acquire(dir: &Path, command: &str) -> Result<RunLock, LockError> {
        let path = dir.join("lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        // In the shared site-wide directory every entry point opens it: the group's too.
        let mode = crate::state::file_mode(dir, 0o600);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(mode)
            .open(&path)
            .map_err(io)?;
        // The umask may have narrowed it; only its owner may widen it again.
        let _ = file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode));
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(LockError::Held {
                    path,
                    holder: holder.trim().to_string(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(
            file,
            "pid {} of {} since {} running `{command}`",
            std::process::id(),
            who(),
            jiff::Timestamp::now()
        )
        .map_err(io)?;
        Ok(RunLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_is_refused_with_the_holder_then_admitted() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), "restore").unwrap();
        let e = RunLock::acquire(dir.path(), "restore")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("pid {}", std::process::id())) && e.contains("running `restore`"),
            "{e}"
        );
        drop(first);
        RunLock::acquire(dir.path(), "park").unwrap();
    }
}
