//! Ctrl-C and SIGTERM. The first finishes the step under way (an API call is never
//! cut in half; a wait stops at once, as waiting changes nothing) and stops the run;
//! a second aborts at once. Either way the cloud and the journal stay consistent,
//! and the next `restore` continues from what it observes.

use std::sync::atomic::{AtomicI32, Ordering};

static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The signal that asked the run to stop (2 SIGINT, 15 SIGTERM), if any.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Whether a listener is already running (one per process).
static LISTENING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Starts listening, inside the runtime, before a run that acts; a second call (a
/// `demo` runs two frames) changes nothing.
pub fn install() {
    if LISTENING.swap(true, Ordering::SeqCst) {
        return;
    }
    tokio::spawn(async {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        loop {
            let signal = tokio::select! {
                _ = tokio::signal::ctrl_c() => 2,
                _ = term.recv() => 15,
            };
            if SIGNAL
                .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                eprintln!(
                    "interrupted: finishing the current step, then stopping (interrupt again to abort now)"
                );
            } else {
                eprintln!("aborted");
                std::process::exit(i32::from(crate::exit::ExitStatus::of_signal(signal).code()));
            }
        }
    });
}
