//! Tokens and secrets in the OS keyring (Linux keyutils through keyring-core). Every call
//! can fail (no keyutils in a container, a seccomp filter): callers fall back to a 0600
//! file.

use std::sync::Once;

/// The keyring service of service tokens (one entry per server URL).
pub const TOKENS: &str = "gatekeep";
/// The keyring service of secrets released to commands (`from: keyring`).
pub const SECRETS: &str = "gatekeep-secret";

fn ready() -> Result<(), String> {
    static INIT: Once = Once::new();
    let mut result = Ok(());
    INIT.call_once(|| {
        // The keyutils store works in the session keyring: join one (creating it) first.
        result = linux_keyutils::KeyRing::from_special_id(
            linux_keyutils::KeyRingIdentifier::Session,
            true,
        )
        .map(|_| ())
        .map_err(|e| format!("no session keyring: {e}"))
        .and_then(|()| linux_keyutils_keyring_store::Store::new().map_err(|e| e.to_string()))
        .map(|store| keyring_core::set_default_store(store));
    });
    result?;
    keyring_core::get_default_store()
        .map(|_| ())
        .ok_or_else(|| "no keyring store".to_owned())
}

/// Stores `value` as `account` of `service`.
pub fn store(service: &str, account: &str, value: &str) -> Result<(), String> {
    ready()?;
    let entry = keyring_core::Entry::new(service, account).map_err(|e| e.to_string())?;
    entry.set_password(value).map_err(|e| e.to_string())?;
    // Read it back: a store that accepts writes but cannot return them is no store.
    match entry.get_password() {
        Ok(read) if read == value => Ok(()),
        Ok(_) => Err("the keyring returned another value".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// The stored value of `account` of `service`, if any.
pub fn load(service: &str, account: &str) -> Option<String> {
    ready().ok()?;
    keyring_core::Entry::new(service, account)
        .ok()?
        .get_password()
        .ok()
}

/// Forgets `account` of `service`.
pub fn delete(service: &str, account: &str) {
    if ready().is_ok()
        && let Ok(entry) = keyring_core::Entry::new(service, account)
    {
        let _ = entry.delete_credential();
    }
}

/// Whether the keyring can be used here, or why not.
pub fn usable() -> Result<(), String> {
    ready()
}
