//! Files that hold secrets (kubeconfigs, the twin's client files): owner-only,
//! never written through a symlink, replaced atomically.

use std::io::Write;
use std::path::PathBuf;

/// A file or directory the operator named (or the tool's own state) that cannot be
/// used: bad input (exit 2), never mistaken for a lock held by another run.
#[derive(Debug, thiserror::Error)]
#[error("cannot {doing} `{}`: {source}\ncheck that the path exists and that this user may write there, or choose another (see `--help`)", path.display())]
pub struct FileError {
    /// The path.
    pub path: PathBuf,
    /// What was being done (`create the state directory`, `write`, `read`).
    pub doing: &'static str,
    /// Why.
    pub source: std::io::Error,
}

impl FileError {
    /// A closure mapping an I/O error on `path` while `doing` something.
    pub fn on(path: &Path, doing: &'static str) -> impl Fn(std::io::Error) -> FileError {
        let path = path.to_path_buf();
        move |source| FileError {
            path: path.clone(),
            doing,
            source,
        }
    }
}
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Writes `text` to `path` readable by its owner only. A symlink in its place is
/// refused (`O_NOFOLLOW`), and an existing file is narrowed to 0600 before anything
/// is written into it.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let options = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .clone();
    write_with(options, path, text)
}

/// Creates `path` (it must not exist: `O_EXCL`), owner-only, with `text`.
pub fn create_private(path: &Path, text: &str) -> std::io::Result<()> {
    let options = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .clone();
    write_with(options, path, text)
}

fn write_with(options: std::fs::OpenOptions, path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = options.open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Replaces `path` with `text` atomically: a private temporary file beside it, then
/// a rename, so a reader never sees half a file and a crash leaves the old one.
pub fn replace_private(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), unique()));
    create_private(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// A value unlikely to repeat within this machine: the clock's nanoseconds.
pub fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_0600_and_never_written_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("clouds.yaml");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_private(&link, "secret").is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");

        let plain = dir.path().join("secure.yaml");
        std::fs::write(&plain, "old").unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&plain, "new").unwrap();
        assert_eq!(
            std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn replacing_is_atomic_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/capi-mgmt.kubeconfig");
        replace_private(&path, "one").unwrap();
        replace_private(&path, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
