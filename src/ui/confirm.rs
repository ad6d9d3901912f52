//! Confirmation of destructive steps (server delete, failover, stop): `--yes`, or a
//! question on the terminal; refused without either. Every answer is journaled.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{ConfirmBy, NotConfirmed};
use crate::journal::Journal;

/// Asks on the terminal, or takes `--yes`; refuses without either.
pub fn confirm(question: &str, yes: bool, journal: &Journal) -> Result<(), NotConfirmed> {
    if yes || !can_ask() {
        return decided(question, yes, ConfirmBy::Flag, journal);
    }
    let answer = ask(question);
    answered(question, &answer, journal)
}

/// Whether there is a terminal to ask on (stdin and stderr).
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The answer without asking: yes with `--yes` (or `confirm=true`, `by`), refused
/// without a terminal.
pub fn decided(
    question: &str,
    yes: bool,
    by: ConfirmBy,
    journal: &Journal,
) -> Result<(), NotConfirmed> {
    if yes {
        journal.confirmation(question, "yes (--yes)");
        return Ok(());
    }
    journal.confirmation(question, "refused: no terminal and no --yes");
    Err(NotConfirmed {
        question: question.to_string(),
        declined: false,
        by,
    })
}

/// Asks on the terminal and reads one line (blocking).
pub fn ask(question: &str) -> String {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    answer
}

/// Journals the operator's answer and decides.
pub fn answered(question: &str, answer: &str, journal: &Journal) -> Result<(), NotConfirmed> {
    // Ctrl-C at the prompt means no, whatever was typed after it.
    let yes = matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
        && crate::interrupt::requested().is_none();
    journal.confirmation(question, if yes { "yes" } else { "no" });
    if yes {
        Ok(())
    } else {
        Err(NotConfirmed {
            question: question.to_string(),
            declined: true,
            by: ConfirmBy::Flag,
        })
    }
}
