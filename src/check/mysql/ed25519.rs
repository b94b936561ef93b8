//! Ed25519 signing from an expanded secret, for MariaDB's `client_ed25519`. MariaDB derives the
//! key from the password itself, `az = SHA-512(password)` whatever its length (MariaDB/server
//! `plugin/auth_ed25519/ref10/sign.c` and `keypair.c`; libmariadb `plugins/auth/ed25519.c`),
//! where RFC 8032 hashes a 32-byte seed: the two agree only for a 32-byte password, so ring's
//! `Ed25519KeyPair::from_seed_unchecked` cannot be used and the curve arithmetic is here, after
//! TweetNaCl's (public domain; field elements as sixteen 16-bit limbs in `i64`s). Speed does not
//! matter (two base-point multiplications per login); the ladder runs the same steps whatever
//! the secret bits are.

use ring::digest::{SHA512, digest};

type Gf = [i64; 16];

const GF0: Gf = [0; 16];
const GF1: Gf = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/// 2·d, the curve constant.
const D2: Gf = [
    0xf159, 0x26b2, 0x9b94, 0xebd6, 0xb156, 0x8283, 0x149a, 0x00e0, 0xd130, 0xeef3, 0x80f2, 0x198e, 0xfce7,
    0x56df, 0xd9dc, 0x2406,
];
/// The base point's coordinates.
const X: Gf = [
    0xd51a, 0x8f25, 0x2d60, 0xc956, 0xa7b2, 0x9525, 0xc760, 0x692c, 0xdc5c, 0xfdd6, 0xe231, 0xc0a4, 0x53fe,
    0xcd6e, 0x36d3, 0x2169,
];
const Y: Gf = [
    0x6658, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666,
    0x6666, 0x6666, 0x6666,
];
/// The group order ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian bytes.
const L: [i64; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The 64-byte signature of `message` by the key MariaDB derives from `password`.
pub fn sign(password: &[u8], message: &[u8]) -> [u8; 64] {
    let mut az = [0u8; 64];
    az.copy_from_slice(digest(&SHA512, password).as_ref());
    az[0] &= 248;
    az[31] &= 63;
    az[31] |= 64;

    let public = pack(&scalar_base(&az[..32]));

    let mut nonce_input = Vec::with_capacity(32 + message.len());
    nonce_input.extend_from_slice(&az[32..]);
    nonce_input.extend_from_slice(message);
    let nonce = reduce(digest(&SHA512, &nonce_input).as_ref());
    let r = pack(&scalar_base(&nonce));

    let mut hram_input = Vec::with_capacity(64 + message.len());
    hram_input.extend_from_slice(&r);
    hram_input.extend_from_slice(&public);
    hram_input.extend_from_slice(message);
    let hram = reduce(digest(&SHA512, &hram_input).as_ref());

    // S = nonce + hram · a (mod ℓ)
    let mut x = [0i64; 64];
    for (i, byte) in nonce.iter().enumerate() {
        x[i] = i64::from(*byte);
    }
    for (i, h) in hram.iter().enumerate() {
        for (j, a) in az[..32].iter().enumerate() {
            x[i + j] += i64::from(*h) * i64::from(*a);
        }
    }
    let s = mod_l(&mut x);

    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&r);
    signature[32..].copy_from_slice(&s);
    signature
}

fn carry(o: &mut Gf) {
    for i in 0..16 {
        o[i] += 1 << 16;
        let c = o[i] >> 16;
        if i < 15 {
            o[i + 1] += c - 1;
        } else {
            o[0] += 38 * (c - 1);
        }
        o[i] -= c << 16;
    }
}

/// Swaps `p` and `q` when `b` is 1, without a branch on `b`.
fn select(p: &mut Gf, q: &mut Gf, b: i64) {
    let mask = !(b - 1);
    for i in 0..16 {
        let t = mask & (p[i] ^ q[i]);
        p[i] ^= t;
        q[i] ^= t;
    }
}

fn pack25519(n: &Gf) -> [u8; 32] {
    let mut t = *n;
    carry(&mut t);
    carry(&mut t);
    carry(&mut t);
    for _ in 0..2 {
        let mut m = GF0;
        m[0] = t[0] - 0xffed;
        for i in 1..15 {
            m[i] = t[i] - 0xffff - ((m[i - 1] >> 16) & 1);
            m[i - 1] &= 0xffff;
        }
        m[15] = t[15] - 0x7fff - ((m[14] >> 16) & 1);
        let b = (m[15] >> 16) & 1;
        m[14] &= 0xffff;
        select(&mut t, &mut m, 1 - b);
    }
    let mut out = [0u8; 32];
    for i in 0..16 {
        out[2 * i] = (t[i] & 0xff) as u8;
        out[2 * i + 1] = ((t[i] >> 8) & 0xff) as u8;
    }
    out
}

fn add(a: &Gf, b: &Gf) -> Gf {
    std::array::from_fn(|i| a[i] + b[i])
}

fn sub(a: &Gf, b: &Gf) -> Gf {
    std::array::from_fn(|i| a[i] - b[i])
}

fn mul(a: &Gf, b: &Gf) -> Gf {
    let mut t = [0i64; 31];
    for i in 0..16 {
        for j in 0..16 {
            t[i + j] += a[i] * b[j];
        }
    }
    for i in 0..15 {
        t[i] += 38 * t[i + 16];
    }
    let mut o: Gf = std::array::from_fn(|i| t[i]);
    carry(&mut o);
    carry(&mut o);
    o
}

/// a^(p-2): the inverse, by Fermat.
fn invert(a: &Gf) -> Gf {
    let mut c = *a;
    for bit in (0..=253).rev() {
        c = mul(&c, &c);
        if bit != 2 && bit != 4 {
            c = mul(&c, a);
        }
    }
    c
}

/// A point in extended coordinates (X, Y, Z, T).
type Point = [Gf; 4];

/// p + q (also p + p), with the unified addition formula.
fn point_add(p: &Point, q: &Point) -> Point {
    let a = mul(&sub(&p[1], &p[0]), &sub(&q[1], &q[0]));
    let b = mul(&add(&p[0], &p[1]), &add(&q[0], &q[1]));
    let c = mul(&mul(&p[3], &q[3]), &D2);
    let d = mul(&p[2], &q[2]);
    let d = add(&d, &d);
    let e = sub(&b, &a);
    let f = sub(&d, &c);
    let g = add(&d, &c);
    let h = add(&b, &a);
    [mul(&e, &f), mul(&h, &g), mul(&g, &f), mul(&e, &h)]
}

fn point_swap(p: &mut Point, q: &mut Point, b: i64) {
    for i in 0..4 {
        select(&mut p[i], &mut q[i], b);
    }
}

/// The compressed encoding: y, with the sign of x in the top bit.
fn pack(p: &Point) -> [u8; 32] {
    let zi = invert(&p[2]);
    let x = mul(&p[0], &zi);
    let y = mul(&p[1], &zi);
    let mut out = pack25519(&y);
    out[31] ^= (pack25519(&x)[0] & 1) << 7;
    out
}

/// s·B for a 32-byte little-endian scalar.
fn scalar_base(s: &[u8]) -> Point {
    let mut q: Point = [X, Y, GF1, mul(&X, &Y)];
    let mut p: Point = [GF0, GF1, GF1, GF0];
    for i in (0..256).rev() {
        let b = i64::from((s[i / 8] >> (i & 7)) & 1);
        point_swap(&mut p, &mut q, b);
        q = point_add(&q, &p);
        p = point_add(&p, &p);
        point_swap(&mut p, &mut q, b);
    }
    p
}

/// x mod ℓ, for x given as 64 signed limbs of 8 bits.
fn mod_l(x: &mut [i64; 64]) -> [u8; 32] {
    for i in (32..64).rev() {
        let mut carry = 0;
        let mut j = i - 32;
        while j < i - 12 {
            x[j] += carry - 16 * x[i] * L[j - (i - 32)];
            carry = (x[j] + 128) >> 8;
            x[j] -= carry << 8;
            j += 1;
        }
        x[j] += carry;
        x[i] = 0;
    }
    let mut carry = 0;
    for j in 0..32 {
        x[j] += carry - (x[31] >> 4) * L[j];
        carry = x[j] >> 8;
        x[j] &= 255;
    }
    for j in 0..32 {
        x[j] -= carry * L[j];
    }
    let mut out = [0u8; 32];
    for i in 0..32 {
        x[i + 1] += x[i] >> 8;
        out[i] = (x[i] & 255) as u8;
    }
    out
}

/// A 64-byte hash reduced mod ℓ.
fn reduce(hash: &[u8]) -> [u8; 32] {
    let mut x = [0i64; 64];
    for (limb, byte) in x.iter_mut().zip(hash) {
        *limb = i64::from(*byte);
    }
    mod_l(&mut x)
}

#[cfg(test)]
mod tests {
    use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    /// RFC 8032 section 7.1, TEST 2: for a 32-byte secret, MariaDB's key is the RFC's.
    #[test]
    fn a_32_byte_password_signs_as_rfc_8032() {
        let secret = hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
        let expected = hex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
             085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
        assert_eq!(sign(&secret, &[0x72]).to_vec(), expected);
    }

    /// A password of any other length gives a signature that verifies under the public key
    /// `SHA-512(password)` makes, which ring checks (the server stores that key).
    #[test]
    fn any_password_signs_verifiably() {
        for password in ["", "secret", "a much longer password than thirty-two bytes, really"] {
            let nonce = [7u8; 32];
            let signature = sign(password.as_bytes(), &nonce);
            let mut az = [0u8; 64];
            az.copy_from_slice(digest(&SHA512, password.as_bytes()).as_ref());
            az[0] &= 248;
            az[31] &= 63;
            az[31] |= 64;
            let public = pack(&scalar_base(&az[..32]));
            UnparsedPublicKey::new(&ED25519, public).verify(&nonce, &signature).expect(password);
        }
    }

    #[test]
    fn the_same_as_ring_for_32_byte_seeds() {
        for seed in [[0u8; 32], [0xffu8; 32], std::array::from_fn(|i| i as u8 * 7)] {
            let pair = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
            let message = b"scramble of thirty-two bytes....";
            assert_eq!(sign(&seed, message).to_vec(), pair.sign(message).as_ref());
            assert!(!pair.public_key().as_ref().is_empty());
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use ring::signature::Ed25519KeyPair;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn agrees_with_ring(seed in any::<[u8; 32]>(), message in proptest::collection::vec(any::<u8>(), 0..64)) {
            let pair = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
            prop_assert_eq!(sign(&seed, &message).to_vec(), pair.sign(&message).as_ref().to_vec());
        }
    }
}
