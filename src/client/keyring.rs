//! Tokens in the OS keyring (Linux keyutils through keyring-core). Every call can fail
//! (no keyutils in a container, a seccomp filter): callers fall back to a 0600 file.

use std::sync::Once;

const SERVICE: &str = "gatekeep";

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

/// Stores the token for `server`.
pub fn store(server: &str, token: &str) -> Result<(), String> {
    ready()?;
    let entry = keyring_core::Entry::new(SERVICE, server).map_err(|e| e.to_string())?;
    entry.set_password(token).map_err(|e| e.to_string())?;
    // Read it back: a store that accepts writes but cannot return them is no store.
    match entry.get_password() {
        Ok(read) if read == token => Ok(()),
        Ok(_) => Err("the keyring returned another token".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// The stored token for `server`, if any.
pub fn load(server: &str) -> Option<String> {
    ready().ok()?;
    keyring_core::Entry::new(SERVICE, server)
        .ok()?
        .get_password()
        .ok()
}

/// Forgets the token for `server`.
pub fn delete(server: &str) {
    if ready().is_ok()
        && let Ok(entry) = keyring_core::Entry::new(SERVICE, server)
    {
        let _ = entry.delete_credential();
    }
}
