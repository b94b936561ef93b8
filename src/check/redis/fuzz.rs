//! The `redis_url` and `redis_resp` fuzz targets' checks: no password in any label or message,
//! whichever form it came in (`:password@`, the lone `word@`, `?password=`, an unencoded
//! delimiter), and RESP replies read the same through buffers of any size.

use std::io::BufReader;

use super::{
    resp::{Reply, encode, read_reply},
    url::RedisUrl,
};
use crate::{
    fuzzing::{LONGEST_INPUT, ReadPassword, Show, assert_hidden, command_line, text},
    uri::{self, Uri, Userinfo},
};

/// Redis URLs: the password probe reads, and the one a plain URL reading would see in a text
/// probe refuses, never shown in the label or the usage error.
pub fn url(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let show: &Show<'_> = &|text: &str| match RedisUrl::parse(text) {
        Ok(url) => url.label,
        Err(why) => format!("'{}': {why}", uri::unparsed(text)),
    };
    let lenient: &ReadPassword<'_> = &|text: &str| Uri::parse(text, Userinfo::LastAt)?.password().map(str::to_owned);
    if let Some(password) = lenient(text) {
        assert_hidden("redis", text, &password, &show(text), lenient, show);
    }
    let read: &ReadPassword<'_> = &|text: &str| Some(RedisUrl::parse(text).ok()?.password?.expose().to_owned());
    let Some(password) = read(text) else { return };
    assert_hidden("redis", text, &password, &show(text), read, show);
    if !text.contains("ssl_") && !text.contains("unix") {
        command_line("redis", text, Some((&password, read)));
    }
}

/// RESP2 replies, read through buffers of any size, each described on one line; a command
/// probe encodes reads back as its arguments.
pub fn resp(data: &[u8]) {
    let data = &data[..data.len().min(LONGEST_INPUT)];
    let Some((&capacity, stream)) = data.split_first() else { return };
    let mut reader = BufReader::with_capacity(usize::from(capacity).max(1), stream);
    let mut whole = BufReader::new(stream);
    for _ in 0..64 {
        let small = read_reply(&mut reader, 0);
        let large = read_reply(&mut whole, 0);
        match (small, large) {
            (Ok(small), Ok(large)) => {
                let described = small.describe();
                assert!(!described.contains(['\n', '\r', '\0', '\x1b']), "{described:?}");
                assert_eq!(small, large, "the buffer's size changed a reply");
            }
            (Err(_), Err(_)) => break,
            (small, large) => panic!("the buffer's size changed a reply: {small:?} / {large:?}"),
        }
    }
    let args: Vec<&[u8]> = stream.split(|&b| b == b' ').take(16).collect();
    let encoded = encode(&args);
    let reply = read_reply(&mut BufReader::new(encoded.as_slice()), 0).expect("a command probe encoded");
    let items = args.iter().map(|arg| Reply::Bulk(Some(arg.to_vec()))).collect();
    assert_eq!(reply, Reply::Array(Some(items)));
}
