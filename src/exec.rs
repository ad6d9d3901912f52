//! The one process runner: every child process (ssh, kubectl, juju) goes through
//! here, via duct, with its arguments as a vector (never a shell string), stdin
//! from /dev/null, a deadline, and errors that show the full command line, the exit
//! status and the tail of stderr. Arguments never carry secrets.

use std::process::ExitStatus;
use std::time::{Duration, Instant};

/// A command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// How long it may run before it is killed.
    pub timeout: Duration,
    /// On the operator's terminal: stdin and stderr are the terminal's (so the
    /// program can prompt, e.g. juju for a password), in the terminal's foreground
    /// process group; stdout is still captured. Only when a person asked for it.
    pub on_terminal: bool,
}

/// A command that ran to completion (any exit status).
#[derive(Debug, Clone)]
pub struct Finished {
    /// The command line, for messages.
    pub command_line: String,
    /// Exit status.
    pub status: ExitStatus,
    /// stdout, lossily decoded.
    pub stdout: String,
    /// stderr, lossily decoded.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
}

impl Finished {
    /// The exit code, or None when killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The last lines of stderr, for messages.
    pub fn stderr_tail(&self) -> String {
        tail(&self.stderr, 6)
    }
}

/// Why a command could not be run to completion.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The program is not installed.
    #[error("`{program}` is not installed or not on PATH{hint}")]
    NotFound {
        /// The program.
        program: String,
        /// What to install.
        hint: String,
    },
    /// It ran too long and was killed.
    #[error("`{command_line}` did not finish within {} and was stopped", humantime::format_duration(*after))]
    TimedOut {
        /// The command line.
        command_line: String,
        /// The deadline.
        after: Duration,
    },
    /// Anything else the OS refused.
    #[error("cannot run `{command_line}`: {source}")]
    Spawn {
        /// The command line.
        command_line: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl Invocation {
    /// A command with a deadline.
    pub fn new(argv: Vec<String>, timeout: Duration) -> Invocation {
        Invocation {
            argv,
            env: Vec::new(),
            timeout,
            on_terminal: false,
        }
    }

    /// The same command, run on the operator's terminal (see `on_terminal`).
    pub fn on_terminal(mut self) -> Invocation {
        self.on_terminal = true;
        self
    }

    /// The command line as a person would type it (quoted where needed).
    pub fn command_line(&self) -> String {
        self.argv
            .iter()
            .map(|a| quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs it on a blocking thread; any exit status is a [`Finished`].
    pub async fn run(self) -> Result<Finished, ExecError> {
        tokio::task::spawn_blocking(move || self.run_blocking())
            .await
            .unwrap_or_else(|e| {
                Err(ExecError::Spawn {
                    command_line: String::new(),
                    source: std::io::Error::other(e.to_string()),
                })
            })
    }

    fn run_blocking(&self) -> Result<Finished, ExecError> {
        let command_line = self.command_line();
        let (program, args) = self.argv.split_first().ok_or_else(|| ExecError::Spawn {
            command_line: command_line.clone(),
            source: std::io::Error::other("empty command"),
        })?;
        let mut expression = if self.on_terminal {
            // The terminal's stdin and stderr, and its foreground process group (a
            // background group reading the terminal would be stopped by SIGTTIN).
            duct::cmd(program, args).stdout_capture().unchecked()
        } else {
            // Its own process group, so a timeout stops ssh's or kubectl's children too.
            duct::cmd(program, args)
                .stdin_null()
                .stdout_capture()
                .stderr_capture()
                .unchecked()
                .before_spawn(|cmd| {
                    use std::os::unix::process::CommandExt;
                    cmd.process_group(0);
                    Ok(())
                })
        };
        for (k, v) in &self.env {
            expression = expression.env(k, v);
        }
        let started = Instant::now();
        let handle = expression.start().map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ExecError::NotFound {
                program: program.clone(),
                hint: install_hint(program),
            },
            _ => ExecError::Spawn {
                command_line: command_line.clone(),
                source,
            },
        })?;
        let output = match handle.wait_timeout(self.timeout) {
            Ok(Some(output)) => output.clone(),
            Ok(None) if self.on_terminal => {
                // Not a group of its own: stop the child itself.
                let _ = handle.kill();
                return Err(ExecError::TimedOut {
                    command_line,
                    after: self.timeout,
                });
            }
            Ok(None) => {
                for pid in handle.pids() {
                    // SAFETY: kill(2) of the process group this spawn made; no memory involved.
                    unsafe {
                        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
                    }
                }
                let _ = handle.wait();
                return Err(ExecError::TimedOut {
                    command_line,
                    after: self.timeout,
                });
            }
            Err(source) => {
                return Err(ExecError::Spawn {
                    command_line,
                    source,
                });
            }
        };
        Ok(Finished {
            command_line,
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed: started.elapsed(),
        })
    }
}

fn install_hint(program: &str) -> String {
    let name = std::path::Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program);
    match name {
        "ssh" => {
            ": install it (`apt install openssh-client`) or set `ssh.command` in the site file"
                .into()
        }
        "kubectl" => ": install it (`snap install kubectl --classic`)".into(),
        "juju" => ": install it (`snap install juju`)".into(),
        _ => String::new(),
    }
}

/// The last `n` non-empty lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Quotes an argument for display the way a POSIX shell would need it.
fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%^".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_and_status_are_captured() {
        let f = Invocation::new(
            vec![
                "sh".into(),
                "-c".into(),
                "echo out; echo err >&2; exit 3".into(),
            ],
            Duration::from_secs(5),
        )
        .run()
        .await
        .unwrap();
        assert_eq!(
            (f.code(), f.stdout.trim(), f.stderr.trim()),
            (Some(3), "out", "err")
        );
        assert_eq!(f.command_line, "sh -c 'echo out; echo err >&2; exit 3'");
    }

    #[tokio::test]
    async fn a_missing_program_says_what_to_install() {
        let e = Invocation::new(vec!["/nonexistent/ssh".into()], Duration::from_secs(5))
            .run()
            .await
            .unwrap_err();
        assert!(e.to_string().contains("openssh-client"), "{e}");
    }

    #[tokio::test]
    async fn a_timeout_stops_the_children_too() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let script = format!("(sleep 1; touch {}) & sleep 5", marker.display());
        let e = Invocation::new(
            vec!["sh".into(), "-c".into(), script],
            Duration::from_millis(200),
        )
        .run()
        .await
        .unwrap_err();
        assert!(matches!(e, ExecError::TimedOut { .. }));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            !marker.exists(),
            "the background child was killed with its group"
        );
    }

    #[tokio::test]
    async fn a_command_past_its_deadline_is_stopped() {
        let e = Invocation::new(vec!["sleep".into(), "5".into()], Duration::from_millis(100))
            .run()
            .await
            .unwrap_err();
        assert!(matches!(e, ExecError::TimedOut { .. }), "{e}");
    }

    #[test]
    fn tails_keep_the_last_lines() {
        assert_eq!(tail("a\n\nb\nc\n", 2), "b\nc");
    }
}
