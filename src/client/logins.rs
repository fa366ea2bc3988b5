//! The login file: one login per service and identity, each with the service key pinned
//! when it was made and its token in the OS keyring (or, where there is none, in this
//! 0600 file), and which identity is in use for each service.
//!
//! A file of the older shape (one login: `server`, `public_key`, `token`) still reads, as
//! one login whose identity is unknown.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::keyring;
use crate::paths::Paths;

/// One stored login.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Login {
    pub server: String,
    /// The identity the service named at login (`GET /v1/me`); `None` for a login of the
    /// older file, made before the service said who a token is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The service key (hex) pinned at login.
    pub public_key: String,
    /// The token, when the OS keyring is not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Login {
    /// The account of this login's token in the OS keyring: `IDENTITY@SERVER`, or the
    /// server alone for a login of the older file.
    pub fn keyring_account(&self) -> String {
        match &self.identity {
            Some(identity) => format!("{identity}@{}", self.server),
            None => self.server.clone(),
        }
    }

    /// The identity for people: its name, or a note that it is unknown.
    pub fn who(&self) -> &str {
        self.identity.as_deref().unwrap_or("(identity unknown)")
    }

    /// The token: from this file, else from the OS keyring.
    pub fn token(&self) -> Option<(String, Stored)> {
        if let Some(token) = &self.token {
            return Some((token.clone(), Stored::File));
        }
        keyring::load(keyring::TOKENS, &self.keyring_account()).map(|t| (t, Stored::Keyring))
    }

    fn is_for(&self, server: &str) -> bool {
        same_server(&self.server, server)
    }
}

/// Where a login's token is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    Keyring,
    File,
}

/// Whether two service URLs name the same service (a trailing slash aside).
pub fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// Every login of this user.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Logins {
    pub logins: Vec<Login>,
    /// For each service URL, the identity in use there.
    #[serde(default)]
    pub in_use: std::collections::BTreeMap<String, String>,
}

/// What the file may hold: this shape, or the older single login.
#[derive(Deserialize)]
#[serde(untagged)]
enum OnDisk {
    Many(Logins),
    One(Login),
}

/// What adding a login changed.
#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    /// No login for this service and identity before.
    New,
    /// The same service and identity: its token and key replaced.
    Replaced,
}

impl Logins {
    pub fn path(paths: &Paths) -> PathBuf {
        paths.config_file.with_file_name("login.json")
    }

    /// The logins in the file; none when there is no file. A file that does not parse
    /// is an error (it is never overwritten unread).
    pub fn read(paths: &Paths) -> Result<Logins, crate::exit::UserError> {
        Self::read_file(paths).map_err(|e| {
            crate::exit::UserError::new(e)
                .hint("fix or remove the file; `gatekeep login` writes it again")
                .kind("no_service")
        })
    }

    fn read_file(paths: &Paths) -> Result<Logins, String> {
        let path = Self::path(paths);
        let bytes = match crate::files::read_regular(&path, crate::files::CONFIG_FILE_LIMIT) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Logins::default()),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        match serde_json::from_slice(&bytes) {
            Ok(OnDisk::Many(logins)) => Ok(logins),
            Ok(OnDisk::One(login)) => Ok(Logins {
                logins: vec![login],
                in_use: Default::default(),
            }),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Writes the file (0600), or removes it when no login is left.
    pub fn write(&self, paths: &Paths) -> std::io::Result<PathBuf> {
        let path = Self::path(paths);
        if self.logins.is_empty() {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => return Ok(path),
            }
        }
        super::credentials::write_private_json(&path, self)
    }

    /// The logins for `server`.
    pub fn for_server<'a>(&'a self, server: &'a str) -> impl Iterator<Item = &'a Login> + 'a {
        self.logins.iter().filter(move |l| l.is_for(server))
    }

    /// The login to use for `server`: the identity `wanted` when given, else the one in
    /// use there, else the only one. `Err` names the identities to choose from when there
    /// are several and none is marked in use, or `wanted` has no login.
    pub fn pick(&self, server: &str, wanted: Option<&str>) -> Result<Option<&Login>, Vec<String>> {
        let here: Vec<&Login> = self.logins.iter().filter(|l| l.is_for(server)).collect();
        let names = || here.iter().map(|l| l.who().to_owned()).collect::<Vec<_>>();
        if let Some(wanted) = wanted {
            return match here.iter().find(|l| l.identity.as_deref() == Some(wanted)) {
                Some(login) => Ok(Some(login)),
                None => Err(names()),
            };
        }
        let in_use = self
            .in_use
            .iter()
            .find(|(s, _)| same_server(s, server))
            .map(|(_, who)| who.as_str());
        if let Some(login) = here.iter().find(|l| l.identity.as_deref() == in_use) {
            return Ok(Some(login));
        }
        match here.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => Err(names()),
        }
    }

    /// Adds `login` (replacing the one of the same service and identity, and a login of
    /// the older file for the same service) and marks it in use for its service.
    pub fn add(&mut self, login: Login) -> (Added, Vec<Login>) {
        let mut dropped = Vec::new();
        let mut added = Added::New;
        self.logins.retain(|l| {
            let same = l.is_for(&login.server) && l.identity == login.identity;
            let older = l.is_for(&login.server) && l.identity.is_none();
            if same {
                added = Added::Replaced;
            }
            if same || older {
                dropped.push(l.clone());
            }
            !(same || older)
        });
        match &login.identity {
            Some(identity) => self.use_identity(&login.server, identity),
            // The unnamed login of a service that does not say whose a token is: in use as
            // long as nothing is marked.
            None => self.in_use.retain(|s, _| !same_server(s, &login.server)),
        }
        self.logins.push(login);
        (added, dropped)
    }

    /// Marks `identity` in use for `server`.
    pub fn use_identity(&mut self, server: &str, identity: &str) {
        self.in_use.retain(|s, _| !same_server(s, server));
        self.in_use
            .insert(server.trim_end_matches('/').to_owned(), identity.to_owned());
    }

    /// Removes the login of `server` and `identity` (`None`: of the older file) and
    /// returns it.
    pub fn remove(&mut self, server: &str, identity: Option<&str>) -> Option<Login> {
        let at = self
            .logins
            .iter()
            .position(|l| l.is_for(server) && l.identity.as_deref() == identity)?;
        let login = self.logins.remove(at);
        if self
            .in_use
            .iter()
            .any(|(s, who)| same_server(s, server) && Some(who.as_str()) == identity)
        {
            self.in_use.retain(|s, _| !same_server(s, server));
        }
        Some(login)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(server: &str, identity: Option<&str>) -> Login {
        Login {
            server: server.into(),
            identity: identity.map(str::to_owned),
            public_key: "ab".into(),
            token: Some(format!("tok-{identity:?}")),
        }
    }

    #[test]
    fn the_older_single_login_still_reads() {
        let old = r#"{"server": "https://gk.example", "public_key": "ab", "token": "t"}"#;
        let OnDisk::One(one) = serde_json::from_str(old).unwrap() else {
            panic!("read as the newer shape");
        };
        assert_eq!(one.identity, None);
        assert_eq!(one.keyring_account(), "https://gk.example");
        let logins = Logins {
            logins: vec![one],
            in_use: Default::default(),
        };
        assert_eq!(
            logins
                .pick("https://gk.example/", None)
                .unwrap()
                .unwrap()
                .token,
            Some("t".into())
        );
    }

    #[test]
    fn another_identity_is_added_and_put_in_use_never_overwriting() {
        let mut logins = Logins::default();
        let server = "https://gk.example";
        assert_eq!(logins.add(login(server, Some("bob"))).0, Added::New);
        assert_eq!(logins.add(login(server, Some("carol"))).0, Added::New);
        assert_eq!(logins.logins.len(), 2);
        assert_eq!(logins.pick(server, None).unwrap().unwrap().who(), "carol");
        assert_eq!(
            logins.pick(server, Some("bob")).unwrap().unwrap().who(),
            "bob"
        );
        assert_eq!(
            logins.pick(server, Some("dave")).unwrap_err(),
            vec!["bob", "carol"]
        );
        assert_eq!(logins.add(login(server, Some("bob"))).0, Added::Replaced);
        assert_eq!(logins.logins.len(), 2);
        assert_eq!(logins.pick(server, None).unwrap().unwrap().who(), "bob");
        // Nothing in use and two to choose from: no guess.
        logins.in_use.clear();
        assert_eq!(logins.pick(server, None).unwrap_err().len(), 2);
        assert!(
            logins
                .pick("https://other.example", None)
                .unwrap()
                .is_none()
        );
        let removed = logins.remove(server, Some("bob")).unwrap();
        assert_eq!(removed.keyring_account(), "bob@https://gk.example");
        assert_eq!(logins.pick(server, None).unwrap().unwrap().who(), "carol");
    }

    #[test]
    fn a_login_replaces_the_older_unnamed_one_of_its_service() {
        let mut logins = Logins {
            logins: vec![login("https://gk.example", None)],
            in_use: Default::default(),
        };
        let (_, dropped) = logins.add(login("https://gk.example", Some("bob")));
        assert_eq!(dropped.len(), 1);
        assert_eq!(logins.logins.len(), 1);
    }
}
