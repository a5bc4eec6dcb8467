//! Access keys: write keys (ingest only, one per source) and admin tokens (read and manage). Only
//! the SHA-256 of a secret is stored; the secret is shown once, when it is made.

use crate::error::ApiError;
use axum::http::HeaderMap;
use base64::Engine as _;
use intent_store::{KeyKind, KeyRecord};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// How often the key list is read again even when every lookup hits.
pub const REFRESH: Duration = Duration::from_secs(2);

/// A new random secret: `iw_` (write) or `ia_` (admin) and 48 hex digits.
pub fn new_secret(kind: KeyKind) -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the operating system gives random bytes");
    let prefix = match kind {
        KeyKind::Write => "iw_",
        KeyKind::Admin => "ia_",
    };
    let mut s = String::with_capacity(51);
    s.push_str(prefix);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Hex SHA-256 of a secret, as stored.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Write or admin.
    pub kind: KeyKind,
    /// The key's source or owner name.
    pub name: String,
}

/// Keys by hash, reloaded from the store on a miss (at most every 250 ms) and every
/// [`REFRESH`] in any case, so keys made with `intent keys create` while the server runs work at
/// once and revoked keys stop working within [`REFRESH`].
pub struct KeyCache {
    keys: RwLock<(HashMap<String, KeyRecord>, Option<Instant>)>,
    load: Box<dyn Fn() -> Result<Vec<KeyRecord>, String> + Send + Sync>,
}

impl KeyCache {
    /// A cache over a loader.
    pub fn new(load: Box<dyn Fn() -> Result<Vec<KeyRecord>, String> + Send + Sync>) -> Self {
        KeyCache {
            keys: RwLock::new((HashMap::new(), None)),
            load,
        }
    }

    fn lookup(&self, secret: &str) -> Option<Caller> {
        let hash = hash_secret(secret);
        {
            let keys = self.keys.read().expect("key cache");
            let fresh = keys.1.is_some_and(|t| t.elapsed() < REFRESH);
            if let Some(k) = keys.0.get(&hash).filter(|_| fresh) {
                return (!k.revoked).then(|| Caller {
                    kind: k.kind,
                    name: k.name.clone(),
                });
            }
            if keys
                .1
                .is_some_and(|t| t.elapsed() < Duration::from_millis(250))
            {
                return None;
            }
        }
        let mut keys = self.keys.write().expect("key cache");
        // Another request may have just reloaded.
        let just = keys
            .1
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100));
        match if just {
            Ok(None)
        } else {
            (self.load)().map(Some)
        } {
            Ok(None) => {}
            Ok(Some(list)) => {
                keys.0 = list.into_iter().map(|k| (k.hash.clone(), k)).collect();
            }
            Err(e) => tracing::error!(error = %e, "loading keys"),
        }
        if !just {
            keys.1 = Some(Instant::now());
        }
        keys.0.get(&hash).filter(|k| !k.revoked).map(|k| Caller {
            kind: k.kind,
            name: k.name.clone(),
        })
    }

    /// The caller for a write request: the key from HTTP Basic (user part), a bearer token, or
    /// the body's `writeKey`. Only write keys send events (an admin token in a web page would be
    /// a leaked secret).
    pub fn writer(&self, headers: &HeaderMap, body_key: Option<&str>) -> Result<Caller, ApiError> {
        let secret = header_secret(headers).or(body_key.map(str::to_string));
        let Some(secret) = secret.filter(|s| !s.is_empty()) else {
            return Err(ApiError::unauthorized(
                "no write key: send it as the HTTP Basic user or as `writeKey` in the body",
            ));
        };
        match self.lookup(&secret) {
            Some(c) if c.kind == KeyKind::Write => Ok(c),
            Some(_) => Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "an admin token cannot send events: use a write key",
            )),
            None => Err(ApiError::unauthorized("the write key is not valid")),
        }
    }

    /// The caller for a read or manage request: an admin token as a bearer token or HTTP Basic.
    pub fn admin(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let Some(secret) = header_secret(headers) else {
            return Err(ApiError::unauthorized(
                "no admin token: send `Authorization: Bearer <token>`",
            ));
        };
        self.admin_secret(&secret)
    }

    /// The caller for an admin token given as text (the dashboard's login and its sessions).
    pub fn admin_secret(&self, secret: &str) -> Result<Caller, ApiError> {
        match self.lookup(secret) {
            Some(c) if c.kind == KeyKind::Admin => Ok(c),
            Some(_) => Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "a write key cannot read: use an admin token",
            )),
            None => Err(ApiError::unauthorized("the admin token is not valid")),
        }
    }

    /// Whether a write key is known (for the browser SDK's settings route).
    pub fn knows(&self, secret: &str) -> bool {
        self.lookup(secret)
            .is_some_and(|c| c.kind == KeyKind::Write)
    }
}

fn header_secret(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let decoded = String::from_utf8(bytes).ok()?;
        let user = decoded.split(':').next().unwrap_or("");
        return Some(user.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_and_hashed() {
        let s = new_secret(KeyKind::Write);
        assert!(s.starts_with("iw_") && s.len() == 51);
        assert_ne!(s, new_secret(KeyKind::Write));
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
