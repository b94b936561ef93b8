//! NATS decentralized-auth credentials the tests make themselves, as `nsc` would: Ed25519 keys in
//! NKEY form, operator, account and user JWTs, a user's `.creds` file and the nats-server config
//! that trusts the operator. Written apart from src/check/nats/nkey.rs, so that probe's own code
//! never vouches for the credentials it is tested with.

use std::{
    path::Path,
    time::{SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::{
    digest,
    rand::{SecureRandom, SystemRandom},
    signature::{Ed25519KeyPair, KeyPair},
};
use serde_json::{Value, json};

/// What a key is for; the first five bits of its public form say so (nkeys' `PrefixByte…`).
#[derive(Clone, Copy)]
pub enum Role {
    Operator,
    Account,
    User,
}

impl Role {
    fn prefix(self) -> u8 {
        match self {
            Role::Operator => 14 << 3,
            Role::Account => 0,
            Role::User => 20 << 3,
        }
    }

    fn claim_type(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Account => "account",
            Role::User => "user",
        }
    }
}

/// nkeys' `PrefixByteSeed`: every seed's text starts with `S`.
const PREFIX_SEED: u8 = 18 << 3;

/// An Ed25519 key pair of one role.
pub struct NKey {
    role: Role,
    seed: [u8; 32],
    pair: Ed25519KeyPair,
}

impl NKey {
    pub fn generate(role: Role) -> NKey {
        let mut seed = [0u8; 32];
        SystemRandom::new().fill(&mut seed).expect("random bytes");
        NKey::from_seed(role, seed)
    }

    /// The key whose Ed25519 seed is `seed`: the 32 bytes inside an NKEY seed's text.
    pub fn from_seed(role: Role, seed: [u8; 32]) -> NKey {
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).expect("any 32 bytes are an Ed25519 seed");
        NKey { role, seed, pair }
    }

    /// `O…`, `A…` or `U…`: the name JWTs and the server's config know the key by.
    pub fn public(&self) -> String {
        nkey_text(&[&[self.role.prefix()], self.pair.public_key().as_ref()].concat())
    }

    /// `SO…`, `SA…` or `SU…`. Two prefixes of five bits each straddle the first two bytes, so
    /// that both show as letters (nkeys' `EncodeSeed`).
    pub fn seed(&self) -> String {
        let role = self.role.prefix();
        let head = [PREFIX_SEED | (role >> 5), (role & 0b1_1111) << 3];
        nkey_text(&[&head[..], &self.seed].concat())
    }

    /// A JWT about `subject`, signed by this key, as nats-io/jwt v2's `ClaimsData.doEncode`
    /// writes one: `nats` holds the claims of the subject's role.
    fn sign_jwt(&self, subject: &NKey, name: &str, mut nats: Value) -> String {
        nats["type"] = json!(subject.role.claim_type());
        nats["version"] = json!(2);
        let issued_at = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
        let (issuer, subject) = (self.public(), subject.public());
        // jti names the JWT by a hash of its other registered claims, as jwt's ClaimsData.hash does.
        let registered = json!({"iat": issued_at, "iss": issuer, "name": name, "sub": subject});
        let id = digest::digest(&digest::SHA512_256, registered.to_string().as_bytes());
        let claims = json!({
            "jti": base32(id.as_ref()),
            "iat": issued_at,
            "iss": issuer,
            "name": name,
            "sub": subject,
            "nats": nats,
        });
        let header = json!({"typ": "JWT", "alg": "ed25519-nkey"});
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = URL_SAFE_NO_PAD.encode(self.pair.sign(signed.as_bytes()));
        format!("{signed}.{signature}")
    }
}

/// The operator's own JWT: an operator signs itself.
pub fn operator_jwt(operator: &NKey) -> String {
    operator.sign_jwt(operator, "probe-tests", json!({}))
}

/// An account's JWT, signed by its operator. Every limit is spelled out as unlimited (-1), as
/// jwt's `NewAccountClaims` does: a limit left out decodes as 0, and `conn: 0` lets no client in.
pub fn account_jwt(account: &NKey, operator: &NKey) -> String {
    let unlimited = json!({
        "subs": -1, "data": -1, "payload": -1,
        "imports": -1, "exports": -1, "wildcards": true, "conn": -1, "leaf": -1,
    });
    operator.sign_jwt(account, "probe-account", json!({"limits": unlimited}))
}

/// A user's JWT, signed by the account it belongs to, unlimited as jwt's `NewUserClaims` makes it.
pub fn user_jwt(user: &NKey, account: &NKey) -> String {
    account.sign_jwt(user, "probe-user", json!({"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1}))
}

/// A `.creds` file as `nsc generate creds` writes it: the user JWT, then the seed.
pub fn creds(user_jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n"
    )
}

/// nats-server configuration in operator mode, as `nsc generate config --mem-resolver` writes
/// it: the server trusts `operator` (whose JWT is written into `dir`) and knows `accounts` from
/// the config alone, with no resolver to ask. A system account of its own comes with them: without
/// one nats-server 2.9 warns at startup ("Trusted Operators should utilize a System Account").
pub fn operator_mode(operator: &NKey, accounts: &[&NKey], dir: &Path) -> String {
    let operator_file = dir.join("operator.jwt");
    std::fs::write(&operator_file, operator_jwt(operator)).expect("write operator.jwt");
    let system = NKey::generate(Role::Account);
    let preload: Vec<String> = [&system]
        .into_iter()
        .chain(accounts.iter().copied())
        .map(|account| format!("  {}: \"{}\"", account.public(), account_jwt(account, operator)))
        .collect();
    format!(
        "operator: \"{}\"\nsystem_account: {}\nresolver: MEMORY\nresolver_preload: {{\n{}\n}}",
        operator_file.display(),
        system.public(),
        preload.join("\n")
    )
}

/// An NKEY's text: the bytes and their CRC-16/XMODEM (little-endian), in base32 without padding.
fn nkey_text(raw: &[u8]) -> String {
    base32(&[raw, &crc16(raw).to_le_bytes()].concat())
}

/// RFC 4648 base32, without padding.
fn base32(raw: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut text = String::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for &byte in raw {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            text.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        text.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    text
}

/// CRC-16/XMODEM (polynomial 0x1021, initial 0), nkeys' checksum.
fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &byte| {
        (0..8).fold(crc ^ (u16::from(byte) << 8), |crc, _| {
            if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 }
        })
    })
}
