//! NATS keys: an NKEY seed (base32 with a CRC16, as the nkeys library writes it) turned into its
//! Ed25519 key with ring, the public key the server knows the user by, the signature of the
//! server's nonce, and the `.creds` file that holds a user JWT and its seed. The seed never leaves
//! this module but as a signature; no error names any part of a file's text.

use ring::signature::{Ed25519KeyPair, KeyPair};

use crate::secret::Secret;

/// The first five bits of a seed's first byte (`S`), and of a user's public key (`U`).
const PREFIX_SEED: u8 = 18 << 3;
const PREFIX_USER: u8 = 20 << 3;

/// A user's signing key, from an `SU…` seed.
pub struct UserKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserKey({})", self.public())
    }
}

impl UserKey {
    /// Reads a seed as `nkeys.FromSeed` does: base32 without padding, the seed prefix and the
    /// user type in its first two bytes, 32 bytes of seed, a CRC16 (XMODEM) little-endian.
    pub fn from_seed(seed: &str) -> Result<UserKey, &'static str> {
        let raw = base32_decode(seed.trim().as_bytes()).ok_or("the seed is not base32")?;
        if raw.len() != 2 + 32 + 2 {
            return Err("the seed has the wrong length for an NKEY seed");
        }
        let (body, crc) = raw.split_at(raw.len() - 2);
        if crc16(body) != u16::from_le_bytes([crc[0], crc[1]]) {
            return Err("the seed's checksum does not match (a character is wrong)");
        }
        let kind = (body[0] & 0b111) << 5 | (body[1] >> 3);
        if body[0] & 0b1111_1000 != PREFIX_SEED {
            return Err("the text is not an NKEY seed (it starts with S)");
        }
        if kind != PREFIX_USER {
            return Err("the seed is not a user's (SU…): the server signs users in with a user seed");
        }
        let pair = Ed25519KeyPair::from_seed_unchecked(&body[2..]).map_err(|_| "the seed is not an Ed25519 key")?;
        Ok(UserKey { pair })
    }

    /// The public key as the server's `nkey:` setting names the user: `U…`.
    pub fn public(&self) -> String {
        let mut raw = vec![PREFIX_USER];
        raw.extend_from_slice(self.pair.public_key().as_ref());
        let crc = crc16(&raw);
        raw.extend_from_slice(&crc.to_le_bytes());
        base32_encode(&raw)
    }

    /// The nonce signed, as CONNECT's `sig` carries it: base64url without padding.
    pub fn sign(&self, nonce: &[u8]) -> String {
        base64url(self.pair.sign(nonce).as_ref())
    }
}

/// A seed file for `--nkey`: the first line, trimmed, that starts with `SU` (the decorated form
/// `nk` writes has it between two banner lines), else the whole text.
pub fn seed_in(text: &str) -> Result<UserKey, &'static str> {
    let line = text.lines().map(str::trim).find(|line| line.starts_with("SU")).unwrap_or(text);
    UserKey::from_seed(line)
}

/// A `.creds` file, as nats.go reads it: the text between the first pair of `---…---` lines is
/// the user JWT, between the second pair the seed.
pub fn creds(text: &str) -> Result<(Secret, UserKey), &'static str> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if is_banner(line) && line.contains("BEGIN") {
            let inner: String =
                lines.by_ref().take_while(|line| !is_banner(line)).collect::<Vec<_>>().join("");
            blocks.push(inner);
        }
    }
    let [jwt, seed, ..] = blocks.as_slice() else {
        return Err("it does not hold a user JWT and an NKEY seed between '-----BEGIN …-----' lines");
    };
    if jwt.is_empty() || jwt.split('.').count() != 3 {
        return Err("its first block is not a JWT");
    }
    Ok((Secret::new(jwt.clone()), UserKey::from_seed(seed)?))
}

fn is_banner(line: &str) -> bool {
    line.len() >= 6 && line.starts_with("---") && line.ends_with("---")
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut bits, mut count) = (0u32, 0u32);
    for &c in text {
        let value = BASE32.iter().position(|&b| b == c.to_ascii_uppercase())? as u32;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

fn base32_encode(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len() * 8 / 5 + 1);
    let (mut bits, mut count) = (0u32, 0u32);
    for &byte in raw {
        bits = (bits << 8) | u32::from(byte);
        count += 8;
        while count >= 5 {
            count -= 5;
            out.push(BASE32[((bits >> count) & 31) as usize] as char);
        }
        bits &= (1 << count) - 1;
    }
    if count > 0 {
        out.push(BASE32[((bits << (5 - count)) & 31) as usize] as char);
    }
    out
}

/// CRC-16/XMODEM, the checksum nkeys appends.
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

fn base64url(raw: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(raw.len().div_ceil(3) * 4);
    for chunk in raw.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The user in NATS's documentation of nkey authentication.
    pub const SEED: &str = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY";
    pub const PUBLIC: &str = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";

    #[test]
    fn a_seed_gives_the_public_key_nats_knows_the_user_by() {
        let key = UserKey::from_seed(SEED).expect("the documented seed");
        assert_eq!(key.public(), PUBLIC);
        let decorated = format!("-----BEGIN USER NKEY SEED-----\n{SEED}\n------END USER NKEY SEED------\n");
        assert_eq!(seed_in(&decorated).unwrap().public(), PUBLIC);
        let sig = key.sign(b"nonce");
        assert_eq!(sig.len(), 86, "64 bytes in base64url without padding");
        assert!(!sig.contains(['=', '+', '/']));
    }

    #[test]
    fn a_wrong_seed_is_refused_without_quoting_it() {
        let mut typo = SEED.to_owned();
        typo.replace_range(10..11, if &SEED[10..11] == "A" { "B" } else { "A" });
        assert!(UserKey::from_seed(&typo).unwrap_err().contains("checksum"));
        assert!(UserKey::from_seed("not base32!").is_err());
        assert!(UserKey::from_seed(PUBLIC).is_err());
        assert!(UserKey::from_seed("").is_err());
    }

    #[test]
    fn a_creds_file_gives_the_jwt_and_the_seed() {
        let text = format!(
            "-----BEGIN NATS USER JWT-----\neyJ0eXAi.eyJqdGki.c2ln\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\n\
             -----BEGIN USER NKEY SEED-----\n{SEED}\n------END USER NKEY SEED------\n"
        );
        let (jwt, key) = creds(&text).expect("a creds file");
        assert_eq!(jwt.expose(), "eyJ0eXAi.eyJqdGki.c2ln");
        assert_eq!(key.public(), PUBLIC);
        assert!(creds(SEED).is_err());
    }

    #[test]
    fn base64url_and_base32_round_trip_known_values() {
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode(b"MZXW6YTBOI").unwrap(), b"foobar");
    }
}
