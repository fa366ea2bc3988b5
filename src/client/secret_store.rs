//! Secrets this host releases to commands (`from: keyring` in policies): in the OS keyring,
//! or where there is none, in a 0600 file. An index (0600) lists the names, so they can be
//! shown without their values.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::credentials::write_private_json;
use super::keyring;
use crate::env_vars;
use crate::environment::Environment;
use crate::exit::UserError;
use crate::paths::Paths;

/// Where values go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The OS keyring when it works, else the file.
    Auto,
    /// The OS keyring only.
    Keyring,
    /// The 0600 file only.
    File,
}

#[derive(Default, Serialize, Deserialize)]
struct Index {
    secrets: BTreeMap<String, Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    /// `keyring` or `file`.
    store: String,
    /// The value, for the file store only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    set_at: String,
}

/// One stored secret, as listed.
pub struct Listed {
    pub name: String,
    pub store: String,
    pub set_at: String,
}

/// The local secret store.
pub struct SecretStore {
    index: PathBuf,
    backend: Backend,
}

impl SecretStore {
    /// The store of this user (`GATEKEEP_SECRET_STORE` picks the backend).
    pub fn open(env: &Environment) -> Result<SecretStore, UserError> {
        let backend = match env.get(env_vars::GATEKEEP_SECRET_STORE) {
            None | Some("auto") => Backend::Auto,
            Some("keyring") => Backend::Keyring,
            Some("file") => Backend::File,
            Some(other) => {
                return Err(UserError::new(format!(
                    "{}={other}: use auto, keyring or file",
                    env_vars::GATEKEEP_SECRET_STORE
                ))
                .kind("config_invalid"));
            }
        };
        Ok(SecretStore {
            index: Paths::from_env(env).data_dir.join("secrets.json"),
            backend,
        })
    }

    fn read(&self) -> Result<Index, UserError> {
        match crate::files::read_regular(&self.index, crate::files::CONFIG_FILE_LIMIT) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                UserError::new(format!("{}: {e}", self.index.display()))
                    .hint("the secret index is damaged; remove it and set the secrets again")
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
            Err(e) => Err(UserError::new(format!(
                "cannot read {}: {e}",
                self.index.display()
            ))),
        }
    }

    fn write(&self, index: &Index) -> Result<(), UserError> {
        write_private_json(&self.index, index)
            .map(|_| ())
            .map_err(|e| UserError::new(format!("cannot write {}: {e}", self.index.display())))
    }

    /// Holds the store's lock while `f` reads and rewrites the index.
    fn locked<T>(&self, f: impl FnOnce(&Self) -> Result<T, UserError>) -> Result<T, UserError> {
        let lock_path = self.index.with_extension("lock");
        if let Some(dir) = lock_path.parent() {
            use std::os::unix::fs::DirBuilderExt as _;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| UserError::new(format!("cannot create {}: {e}", dir.display())))?;
        }
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .and_then(|file| file.lock().map(|()| file))
            .map_err(|e| UserError::new(format!("cannot lock {}: {e}", lock_path.display())))?;
        let result = f(self);
        drop(lock);
        result
    }

    /// Stores `value` as `name`; says where it went.
    pub fn set(&self, name: &str, value: &str) -> Result<&'static str, UserError> {
        check_name(name)?;
        self.locked(|store| {
            let mut index = store.read()?;
            let in_keyring = match store.backend {
                Backend::File => Err("the file store was asked for".to_owned()),
                _ => keyring::store(keyring::SECRETS, name, value),
            };
            let entry = match in_keyring {
                Ok(()) => Entry {
                    store: "keyring".to_owned(),
                    value: None,
                    set_at: jiff::Timestamp::now().to_string(),
                },
                Err(why) if store.backend == Backend::Keyring => {
                    return Err(
                        UserError::new(format!("the OS keyring is not available: {why}"))
                            .hint("set GATEKEEP_SECRET_STORE=file to keep secrets in a 0600 file"),
                    );
                }
                Err(_) => Entry {
                    store: "file".to_owned(),
                    value: Some(value.to_owned()),
                    set_at: jiff::Timestamp::now().to_string(),
                },
            };
            let store_name = if entry.value.is_some() {
                "file"
            } else {
                "keyring"
            };
            index.secrets.insert(name.to_owned(), entry);
            store.write(&index)?;
            Ok(store_name)
        })
    }

    /// The value of `name`, if it is stored.
    pub fn get(&self, name: &str) -> Result<Option<String>, UserError> {
        let index = self.read()?;
        let Some(entry) = index.secrets.get(name) else {
            return Ok(None);
        };
        match (&entry.value, entry.store.as_str()) {
            (Some(value), _) => Ok(Some(value.clone())),
            (None, _) => keyring::load(keyring::SECRETS, name).map(Some).ok_or_else(|| {
                UserError::new(format!(
                    "secret {name} is listed but the OS keyring does not return it"
                ))
                .hint(format!(
                    "set it again with `gatekeep secret set {name}` (the session keyring ends with the login session)"
                ))
            }),
        }
    }

    /// Every stored secret's name, store and time, never its value.
    pub fn list(&self) -> Result<Vec<Listed>, UserError> {
        Ok(self
            .read()?
            .secrets
            .into_iter()
            .map(|(name, entry)| Listed {
                name,
                store: entry.store,
                set_at: entry.set_at,
            })
            .collect())
    }

    /// Forgets `name`; false when there was no such secret.
    pub fn remove(&self, name: &str) -> Result<bool, UserError> {
        self.locked(|store| {
            let mut index = store.read()?;
            let Some(entry) = index.secrets.remove(name) else {
                return Ok(false);
            };
            if entry.store == "keyring" {
                keyring::delete(keyring::SECRETS, name);
            }
            store.write(&index)?;
            Ok(true)
        })
    }
}

fn check_name(name: &str) -> Result<(), UserError> {
    let valid = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(UserError::new(format!("invalid secret name `{name}`"))
            .hint("use letters, digits, `.`, `_` and `-`"))
    }
}
