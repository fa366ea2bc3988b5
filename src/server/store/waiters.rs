//! Long-polls waiting for a request to change, woken by request id.

use std::collections::HashMap;
use std::sync::{Mutex, Weak};

use tokio::sync::watch;

/// The waiters of each request. Waking a request wakes only the long-polls on it; waking
/// everyone is for when changes may have been missed (a lost database connection).
#[derive(Default)]
pub struct Waiters {
    by_request: Mutex<HashMap<String, Weak<watch::Sender<u64>>>>,
    everyone: watch::Sender<u64>,
}

/// One long-poll's subscription: `changed` resolves after a change to its request, or
/// after everyone was woken.
pub struct Waiter {
    mine: watch::Receiver<u64>,
    everyone: watch::Receiver<u64>,
    // Keeps the request's sender alive while someone waits on it.
    _sender: std::sync::Arc<watch::Sender<u64>>,
}

impl Waiter {
    pub async fn changed(&mut self) {
        tokio::select! {
            _ = self.mine.changed() => {}
            _ = self.everyone.changed() => {}
        }
    }
}

impl Waiters {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Weak<watch::Sender<u64>>>> {
        self.by_request
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Subscribes before reading the request, so a change in between is not missed.
    pub fn subscribe(&self, id: &str) -> Waiter {
        let mut map = self.map();
        let sender = match map.get(id).and_then(Weak::upgrade) {
            Some(sender) => sender,
            None => {
                let sender = std::sync::Arc::new(watch::Sender::new(0));
                map.insert(id.to_owned(), std::sync::Arc::downgrade(&sender));
                sender
            }
        };
        // Entries nobody waits on any more go.
        if map.len() > 64 && map.len().is_power_of_two() {
            map.retain(|_, w| w.strong_count() > 0);
        }
        Waiter {
            mine: sender.subscribe(),
            everyone: self.everyone.subscribe(),
            _sender: sender,
        }
    }

    /// Wakes the long-polls on request `id`.
    pub fn wake(&self, id: &str) {
        let sender = self.map().get(id).and_then(Weak::upgrade);
        if let Some(sender) = sender {
            sender.send_modify(|v| *v += 1);
        }
    }

    /// Wakes every long-poll (each re-reads its request).
    pub fn wake_all(&self) {
        self.everyone.send_modify(|v| *v += 1);
    }

    /// How many requests have someone waiting.
    pub fn waited_on(&self) -> usize {
        self.map().values().filter(|w| w.strong_count() > 0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_changed_requests_waiters_wake() {
        let waiters = Waiters::default();
        let mut a = waiters.subscribe("a");
        let mut b = waiters.subscribe("b");
        waiters.wake("a");
        tokio::time::timeout(std::time::Duration::from_secs(5), a.changed())
            .await
            .expect("a wakes");
        assert!(
            !b.mine.has_changed().expect("open") && !b.everyone.has_changed().expect("open"),
            "b must not wake for a's change"
        );
        waiters.wake_all();
        tokio::time::timeout(std::time::Duration::from_secs(5), b.changed())
            .await
            .expect("b wakes when everyone does");
        drop(a);
        assert_eq!(waiters.waited_on(), 1);
    }
}
