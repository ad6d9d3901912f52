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
#[error("not confirmed: {0}")]
pub struct NotConfirmed(pub String);
