//! Secrets kept out of settings.json: the server's API key lives in the OS
//! keychain, behind a small trait so tests (and machines without a
//! keychain) use a store in memory.
use std::collections::HashMap;
use std::sync::Mutex;

use crate::{Server, Settings};

/// The keychain's service name: the app's identifier.
pub const SERVICE: &str = crate::APP_IDENTIFIER;

#[derive(Debug, thiserror::Error)]
#[error("the keychain could not {action} the server's API key: {detail}")]
pub struct SecretError {
    pub action: &'static str,
    pub detail: String,
}

/// Why a server could not be set.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("the server address must start with http:// or https:// and name a host, not {0:?}")]
    Url(String),
    #[error("give the model's name on the server, e.g. qwen2.5-coder:7b")]
    Model,
    #[error(transparent)]
    Keychain(#[from] SecretError),
}

pub trait Secrets: Send + Sync {
    fn get(&self, account: &str) -> Result<Option<String>, SecretError>;
    fn set(&self, account: &str, secret: &str) -> Result<(), SecretError>;
    /// Removing what is not there is not an error.
    fn delete(&self, account: &str) -> Result<(), SecretError>;
}

/// The key's account in the keychain: one per server address, so two
/// servers keep their own keys.
pub fn account(server: &Server) -> String {
    format!("api-key {}", server.base_url.trim().trim_end_matches('/'))
}

/// The server's API key, if one was stored.
pub fn api_key(server: &Server, secrets: &dyn Secrets) -> Result<Option<String>, SecretError> {
    secrets.get(&account(server))
}

impl Settings {
    /// Sets (or, with None, clears) the server, and its key: the address
    /// and model here, to be saved with the settings; the key in `secrets`
    /// only (an empty or absent key removes the stored one). The old
    /// server's key goes when the server does.
    pub fn set_server(
        &mut self,
        server: Option<Server>,
        key: Option<&str>,
        secrets: &dyn Secrets,
    ) -> Result<(), ServerError> {
        if let Some(s) = &server {
            s.validate()?;
        }
        if let Some(old) = &self.server {
            if server.as_ref().is_none_or(|s| account(s) != account(old)) {
                secrets.delete(&account(old))?;
            }
        }
        if let Some(s) = &server {
            match key.map(str::trim).filter(|k| !k.is_empty()) {
                Some(k) => secrets.set(&account(s), k)?,
                None => secrets.delete(&account(s))?,
            }
        }
        self.server = server;
        Ok(())
    }
}

/// The OS keychain (the login keychain on macOS).
pub struct Keychain;

#[cfg(any(target_os = "macos", target_os = "linux"))]
impl Keychain {
    fn entry(account: &str, action: &'static str) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(SERVICE, account).map_err(|e| SecretError { action, detail: e.to_string() })
    }
}

#[cfg(any(target_os = "macos", target_os = "linux"))]
impl Secrets for Keychain {
    fn get(&self, account: &str) -> Result<Option<String>, SecretError> {
        match Self::entry(account, "read")?.get_password() {
            Ok(k) => Ok(Some(k)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(SecretError { action: "read", detail: e.to_string() }),
        }
    }

    fn set(&self, account: &str, secret: &str) -> Result<(), SecretError> {
        Self::entry(account, "store")?
            .set_password(secret)
            .map_err(|e| SecretError { action: "store", detail: e.to_string() })
    }

    fn delete(&self, account: &str) -> Result<(), SecretError> {
        match Self::entry(account, "remove")?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(SecretError { action: "remove", detail: e.to_string() }),
        }
    }
}

/// Secrets in memory: tests, and where there is no keychain.
#[derive(Default)]
pub struct Memory(Mutex<HashMap<String, String>>);

impl Secrets for Memory {
    fn get(&self, account: &str) -> Result<Option<String>, SecretError> {
        Ok(self.0.lock().unwrap_or_else(|e| e.into_inner()).get(account).cloned())
    }

    fn set(&self, account: &str, secret: &str) -> Result<(), SecretError> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(account.into(), secret.into());
        Ok(())
    }

    fn delete(&self, account: &str) -> Result<(), SecretError> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(account);
        Ok(())
    }
}
