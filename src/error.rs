//! The errors the edge tells apart, each with its exit status (see [`crate::exit`]):
//! bad usage found after parsing, a pre-check that refused, a destructive step
//! nobody confirmed. Library code returns them; `cli` only maps them to a code.

/// Bad usage or input found after parsing (clap reports its own): exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// A pre-check said no (a CAPI operation in flight, or no way to check): exit 3.
#[derive(Debug, thiserror::Error)]
#[error("refused: {0}")]
pub struct Refused(pub String);

/// The operator's answer to a destructive step was no, or nobody could answer (no
/// terminal and no `--yes`): exit 3.
#[derive(Debug, thiserror::Error)]
#[error("not confirmed: {question}: {}", match (.declined, .by) {
    (true, _) => "not confirmed",
    (false, ConfirmBy::Flag) => "no terminal to ask on; pass `--yes` to confirm in unattended runs",
    (false, ConfirmBy::Param) => "an action asks nobody: run it with `confirm=true`",
})]
pub struct NotConfirmed {
    /// What was asked.
    pub question: String,
    /// The operator answered no (else there was nobody to ask).
    pub declined: bool,
    /// How it could have been confirmed.
    pub by: ConfirmBy,
}

/// How a destructive step is confirmed where the run was started: the command
/// line's `--yes`, or an action's `confirm=true` param.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConfirmBy {
    /// `--yes` (or a yes on the terminal).
    #[default]
    Flag,
    /// `confirm=true`.
    Param,
}

impl ConfirmBy {
    /// How to run `command` again, confirmed: with `arguments` on the command line,
    /// `params` as an action.
    pub fn again(self, command: &str, arguments: &str, params: &str) -> String {
        let with = |extra: &str| {
            if extra.is_empty() {
                String::new()
            } else {
                format!(" {extra}")
            }
        };
        match self {
            ConfirmBy::Flag => format!("`juju-capi-restore {command}{} --yes`", with(arguments)),
            ConfirmBy::Param => format!(
                "`juju run capi-restore/0 {command}{} confirm=true`",
                with(params)
            ),
        }
    }

    /// The confirmation itself, in words.
    pub fn word(self) -> &'static str {
        match self {
            ConfirmBy::Flag => "`--yes` (or a yes on the terminal)",
            ConfirmBy::Param => "`confirm=true`",
        }
    }
}
