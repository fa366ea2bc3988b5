//! Waiting for a decision: long-polls in a worker thread so an interrupt is noticed at once,
//! and retries with backoff while the service cannot be reached, until the deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{ApiClient, ClientError};
use crate::approval::{RequestView, Status};

/// How waiting ended.
#[derive(Debug)]
pub enum Outcome {
    /// The request reached a final state (approved, rejected, expired, cancelled, consumed).
    Decided(Box<RequestView>),
    /// The local deadline passed first.
    TimedOut,
    /// The interrupt flag was raised (Ctrl-C).
    Interrupted,
    /// The service refused to answer (the request is unknown or not ours to see).
    Failed(ClientError),
}

/// What the waiting UI is told.
pub enum Progress<'a> {
    Update(&'a RequestView),
    Retrying(&'a ClientError),
}

/// Waits for request `id` to leave `pending`, until `deadline`.
pub fn wait_for_decision(
    client: &Arc<ApiClient>,
    id: &str,
    deadline: Instant,
    interrupted: &AtomicBool,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Outcome {
    let mut backoff = Duration::from_millis(200);
    loop {
        if interrupted.load(Ordering::SeqCst) {
            return Outcome::Interrupted;
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Outcome::TimedOut;
        }
        let wait = remaining.as_secs().clamp(1, 25);
        let (tx, rx) = mpsc::channel();
        let worker = Arc::clone(client);
        let request_id = id.to_owned();
        std::thread::spawn(move || {
            let _ = tx.send(worker.get(&request_id, wait));
        });
        let answer = loop {
            if interrupted.load(Ordering::SeqCst) {
                return Outcome::Interrupted;
            }
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(answer) => break answer,
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => return Outcome::TimedOut,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break Err(ClientError::Protocol("the poller stopped".into()));
                }
            }
        };
        match answer {
            Ok(view) => {
                backoff = Duration::from_millis(200);
                on_progress(Progress::Update(&view));
                if view.status != Status::Pending {
                    return Outcome::Decided(Box::new(view));
                }
            }
            Err(error) => {
                on_progress(Progress::Retrying(&error));
                if matches!(error, ClientError::Api { status, .. } if !matches!(status, 429 | 502..=504))
                {
                    // The service answered and refused: retrying will not help.
                    return Outcome::Failed(error);
                }
                let pause = backoff.min(deadline.saturating_duration_since(Instant::now()));
                let until = Instant::now() + pause;
                while Instant::now() < until {
                    if interrupted.load(Ordering::SeqCst) {
                        return Outcome::Interrupted;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}
