//! The fuzz targets of `probe grpc` (`fuzz/fuzz_targets/{grpc_target,grpc_health}.rs` call
//! these): what must hold for every input. `cargo test` replays the committed inputs through
//! them (`fuzzing::TARGETS`). Not an API: nothing in the binary calls it.

use super::{
    metadata,
    proto::{ServingStatus, health_check_response, request_frame, response as grpc_response},
};
use crate::{
    fuzzing::{LONGEST_INPUT, ReadPassword, command_line, text},
    uri::{Uri, Userinfo},
};

/// gRPC targets (`HOST:PORT`, `grpc://`, `grpcs://`, `unix:`): one-line messages, and no
/// password a URL reader finds in one (a target takes none, but a pasted URL may carry one) in
/// any label or message. As `-H` metadata, no value in any message.
pub fn grpc_target(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let read: &ReadPassword<'_> =
        &|text| Some(Uri::parse(text, Userinfo::LastAt)?.password()?.to_owned()).filter(|p| !p.is_empty());
    match read(text) {
        Some(password) => command_line("grpc", text, Some((&password, read))),
        None => command_line("grpc", text, None),
    }
    if let Some((name, value)) = text.split_once(':')
        && let Err(why) = metadata::read(&[text.to_owned()])
        && value.trim().len() >= 4
        && !name.to_ascii_lowercase().contains(&value.trim().to_ascii_lowercase())
        && !text.starts_with('@')
    {
        assert!(!why.to_string().contains(value.trim()), "-H {text:?}: {why}");
    }
}

/// Writes `value` as a protobuf varint.
fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// gRPC's HealthCheckResponse: the frame adds nothing to the message, and a status appended to
/// a message that decodes is the one read (protobuf's last-one-wins).
pub fn grpc_health(data: &[u8]) {
    let data = &data[..data.len().min(LONGEST_INPUT)];
    let _ = grpc_response(data);
    let decoded = health_check_response(data);
    let mut framed = vec![0];
    framed.extend_from_slice(&(data.len() as u32).to_be_bytes());
    framed.extend_from_slice(data);
    assert_eq!(grpc_response(&framed), decoded, "the frame of {data:?} changed its reading");
    if decoded.is_ok() {
        let status = data.iter().take(8).fold(0u64, |n, &b| n.rotate_left(8) | u64::from(b));
        let mut appended = data.to_vec();
        appended.push(0x08); // field 1, varint
        varint(&mut appended, status);
        let expected = match status {
            0 => ServingStatus::Unknown,
            1 => ServingStatus::Serving,
            2 => ServingStatus::NotServing,
            3 => ServingStatus::ServiceUnknown,
            other => ServingStatus::Other(other),
        };
        assert_eq!(health_check_response(&appended), Ok(expected), "{data:?} then status {status}");
    }
    let request = request_frame(&String::from_utf8_lossy(data));
    assert_eq!(request[1..5], ((request.len() - 5) as u32).to_be_bytes(), "the request's length prefix");
}

