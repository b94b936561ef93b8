//! The authentication plugins probe speaks, each answering the server's nonce: MySQL's
//! `mysql_native_password` and `caching_sha2_password` (MySQL 8's default), and MariaDB's
//! `client_ed25519`. Cleartext answers (`caching_sha2_password`'s full path,
//! `sha256_password`, `mysql_clear_password`) go only over TLS or a unix socket.

use ring::digest::{self, SHA1_FOR_LEGACY_USE_ONLY as SHA1, SHA256};

use super::ed25519;

/// The plugins probe can answer, by the names servers use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plugin {
    Native,
    CachingSha2,
    Ed25519,
    Sha256,
    Clear,
}

impl Plugin {
    pub fn named(name: &str) -> Option<Plugin> {
        Some(match name {
            "mysql_native_password" => Plugin::Native,
            "caching_sha2_password" => Plugin::CachingSha2,
            "client_ed25519" => Plugin::Ed25519,
            "sha256_password" => Plugin::Sha256,
            "mysql_clear_password" => Plugin::Clear,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Plugin::Native => "mysql_native_password",
            Plugin::CachingSha2 => "caching_sha2_password",
            Plugin::Ed25519 => "client_ed25519",
            Plugin::Sha256 => "sha256_password",
            Plugin::Clear => "mysql_clear_password",
        }
    }
}

/// The first answer `plugin` gives to `nonce`, or None when it needs a secure transport that
/// this connection is not (then probe answers with something the server refuses, to end the
/// handshake cleanly rather than drop it).
pub fn first_answer(plugin: Plugin, password: &[u8], nonce: &[u8], secure: bool) -> Option<Vec<u8>> {
    Some(match plugin {
        Plugin::Native => native(password, nonce),
        Plugin::CachingSha2 => caching_sha2(password, nonce),
        // client_ed25519 signs the server's 32-byte nonce (libmariadb plugins/auth/ed25519.c).
        Plugin::Ed25519 => ed25519::sign(password, nonce).to_vec(),
        // Both send the password and a NUL when the transport is secure
        // (page_protocol_connection_phase_authentication_methods_clear_text_password.html;
        // sha256_password over TLS, sql/auth/sha2_password.cc).
        Plugin::Sha256 | Plugin::Clear if secure => cleartext(password),
        Plugin::Sha256 | Plugin::Clear => return None,
    })
}

/// The password and its NUL, as the full caching_sha2 path and the cleartext plugins send it.
pub fn cleartext(password: &[u8]) -> Vec<u8> {
    [password, &[0]].concat()
}

/// "Native Authentication" (page_protocol_connection_phase_authentication_methods_native_password_authentication.html):
/// SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password))); empty for an empty password.
pub fn native(password: &[u8], nonce: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let nonce = &nonce[..nonce.len().min(20)];
    let stage1 = digest::digest(&SHA1, password);
    let stage2 = digest::digest(&SHA1, stage1.as_ref());
    let mut context = digest::Context::new(&SHA1);
    context.update(nonce);
    context.update(stage2.as_ref());
    let mask = context.finish();
    xor(stage1.as_ref(), mask.as_ref())
}

/// caching_sha2_password's fast-path scramble (page_caching_sha2_authentication_exchanges.html):
/// SHA256(password) XOR SHA256(SHA256(SHA256(password)) + nonce); empty for an empty password.
pub fn caching_sha2(password: &[u8], nonce: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let nonce = &nonce[..nonce.len().min(20)];
    let stage1 = digest::digest(&SHA256, password);
    let stage2 = digest::digest(&SHA256, stage1.as_ref());
    let mut context = digest::Context::new(&SHA256);
    context.update(stage2.as_ref());
    context.update(nonce);
    let mask = context.finish();
    xor(stage1.as_ref(), mask.as_ref())
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

/// caching_sha2_password's AuthMoreData: 0x03 the cached hash matched (an OK follows), 0x04
/// the server needs the password itself.
pub const FAST_AUTH_OK: u8 = 0x03;
pub const FULL_AUTH: u8 = 0x04;

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The server's check, written out: SHA1(answer XOR SHA1(nonce + stored)) == stored, where
    /// `stored` is SHA1(SHA1(password)), the hash in mysql.user.
    #[test]
    fn native_answers_pass_the_servers_check() {
        let nonce = b"01234567890123456789";
        let answer = native(b"secret", nonce);
        let stored = digest::digest(&SHA1, digest::digest(&SHA1, b"secret").as_ref());
        let mut context = digest::Context::new(&SHA1);
        context.update(nonce);
        context.update(stored.as_ref());
        let stage1 = xor(&answer, context.finish().as_ref());
        assert_eq!(digest::digest(&SHA1, &stage1).as_ref(), stored.as_ref());
        // PASSWORD('secret') in MySQL: *14E65567ABDB5135D0CFD9A70B3032C179A49EE7
        assert_eq!(hex(stored.as_ref()), "14e65567abdb5135d0cfd9a70b3032c179a49ee7");
        assert!(native(b"", nonce).is_empty());
    }

    #[test]
    fn caching_sha2_answers_pass_the_servers_check() {
        let nonce = b"abcdefghijabcdefghij";
        let answer = caching_sha2(b"secret", nonce);
        let cached = digest::digest(&SHA256, digest::digest(&SHA256, b"secret").as_ref());
        let mut context = digest::Context::new(&SHA256);
        context.update(cached.as_ref());
        context.update(nonce);
        let stage1 = xor(&answer, context.finish().as_ref());
        assert_eq!(digest::digest(&SHA256, &stage1).as_ref(), cached.as_ref());
        assert_eq!(answer.len(), 32);
    }

    #[test]
    fn cleartext_only_when_secure() {
        assert_eq!(first_answer(Plugin::Clear, b"pw", b"", true), Some(b"pw\0".to_vec()));
        assert_eq!(first_answer(Plugin::Sha256, b"pw", b"", false), None);
        assert_eq!(first_answer(Plugin::Ed25519, b"pw", &[0; 32], false).map(|a| a.len()), Some(64));
        for plugin in [Plugin::Native, Plugin::CachingSha2, Plugin::Ed25519, Plugin::Sha256, Plugin::Clear] {
            assert_eq!(Plugin::named(plugin.name()), Some(plugin));
        }
        assert_eq!(Plugin::named("dialog"), None);
    }
}
