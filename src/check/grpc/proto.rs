//! The two protobuf messages of `grpc.health.v1`, encoded and decoded by hand:
//! `HealthCheckRequest { string service = 1; }` and `HealthCheckResponse { ServingStatus status = 1; }`,
//! and gRPC's length-prefixed framing around them. A code generator would cost more than the
//! forty lines it saves.

/// `HealthCheckResponse.ServingStatus`, with the values a newer server might add kept as numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServingStatus {
    Unknown,
    Serving,
    NotServing,
    ServiceUnknown,
    Other(u64),
}

impl ServingStatus {
    fn from_number(number: u64) -> Self {
        match number {
            0 => ServingStatus::Unknown,
            1 => ServingStatus::Serving,
            2 => ServingStatus::NotServing,
            3 => ServingStatus::ServiceUnknown,
            other => ServingStatus::Other(other),
        }
    }
}

impl std::fmt::Display for ServingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServingStatus::Unknown => f.write_str("UNKNOWN"),
            ServingStatus::Serving => f.write_str("SERVING"),
            ServingStatus::NotServing => f.write_str("NOT_SERVING"),
            ServingStatus::ServiceUnknown => f.write_str("SERVICE_UNKNOWN"),
            ServingStatus::Other(number) => write!(f, "status {number} (not a known ServingStatus)"),
        }
    }
}

/// The request body as sent: the gRPC frame header (not compressed, length) and the message.
/// The empty service name is proto3's default, so it is not written at all.
pub fn request_frame(service: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(service.len() + 6);
    if !service.is_empty() {
        message.push(0x0a); // field 1, length-delimited
        put_varint(&mut message, service.len() as u64);
        message.extend_from_slice(service.as_bytes());
    }
    let mut frame = Vec::with_capacity(5 + message.len());
    frame.push(0);
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap_or(u32::MAX).to_be_bytes());
    frame.extend_from_slice(&message);
    frame
}

/// What the body of an answer held: one message, or why it is not one.
pub fn response(body: &[u8]) -> Result<ServingStatus, String> {
    let Some((header, rest)) = body.split_first_chunk::<5>() else {
        return Err(if body.is_empty() {
            "the server answered without a message".to_owned()
        } else {
            "the answer's message is cut short".to_owned()
        });
    };
    let [compressed, length @ ..] = *header;
    let length = u32::from_be_bytes(length) as usize;
    match compressed {
        0 => {}
        1 => return Err("the answer is compressed, though no compression was offered".to_owned()),
        _ => return Err("the answer's message frame is malformed".to_owned()),
    }
    match rest.len().cmp(&length) {
        std::cmp::Ordering::Less => Err("the answer's message is cut short".to_owned()),
        std::cmp::Ordering::Greater => Err("the answer holds more than one message".to_owned()),
        std::cmp::Ordering::Equal => health_check_response(rest),
    }
}

/// Decodes `HealthCheckResponse`: the last `status` wins, unknown fields are skipped, as every
/// protobuf library does; a missing status is proto3's default, UNKNOWN.
pub fn health_check_response(mut message: &[u8]) -> Result<ServingStatus, String> {
    let malformed = || "the answer is not a HealthCheckResponse".to_owned();
    let mut status = 0;
    while !message.is_empty() {
        let key = take_varint(&mut message).ok_or_else(malformed)?;
        let (field, wire_type) = (key >> 3, key & 7);
        if field == 0 {
            return Err(malformed());
        }
        match wire_type {
            0 => {
                let value = take_varint(&mut message).ok_or_else(malformed)?;
                if field == 1 {
                    // An enum is an int32 on the wire; a negative one arrives sign-extended.
                    status = value;
                }
            }
            1 => message = message.get(8..).ok_or_else(malformed)?,
            2 => {
                let length = take_varint(&mut message).ok_or_else(malformed)?;
                let length = usize::try_from(length).map_err(|_| malformed())?;
                message = message.get(length..).ok_or_else(malformed)?;
            }
            5 => message = message.get(4..).ok_or_else(malformed)?,
            _ => return Err(malformed()),
        }
    }
    Ok(ServingStatus::from_number(status))
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads a varint of at most ten bytes, advancing past it.
fn take_varint(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (index, byte) in input.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            *input = &input[index + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_for_the_whole_server_is_empty() {
        assert_eq!(request_frame(""), [0, 0, 0, 0, 0]);
    }

    #[test]
    fn the_request_names_the_service() {
        assert_eq!(request_frame("db"), [0, 0, 0, 0, 4, 0x0a, 2, b'd', b'b']);
        let long = "s".repeat(200);
        let frame = request_frame(&long);
        assert_eq!(&frame[..8], [0, 0, 0, 0, 203, 0x0a, 0xc8, 0x01]);
        assert_eq!(frame.len(), 5 + 203);
    }

    #[test]
    fn statuses_read_as_their_names() {
        let cases: [(&[u8], ServingStatus); 6] = [
            (&[], ServingStatus::Unknown),
            (&[0x08, 0], ServingStatus::Unknown),
            (&[0x08, 1], ServingStatus::Serving),
            (&[0x08, 2], ServingStatus::NotServing),
            (&[0x08, 3], ServingStatus::ServiceUnknown),
            (&[0x08, 9], ServingStatus::Other(9)),
        ];
        for (message, status) in cases {
            assert_eq!(health_check_response(message), Ok(status), "{message:?}");
        }
        assert_eq!(ServingStatus::NotServing.to_string(), "NOT_SERVING");
        assert_eq!(ServingStatus::Other(9).to_string(), "status 9 (not a known ServingStatus)");
    }

    #[test]
    fn unknown_fields_are_skipped_and_the_last_status_wins() {
        let message = [
            0x08, 2, // status NOT_SERVING
            0x12, 3, b'a', b'b', b'c', // field 2, bytes
            0x19, 1, 2, 3, 4, 5, 6, 7, 8, // field 3, fixed64
            0x25, 1, 2, 3, 4, // field 4, fixed32
            0x28, 0xff, 0x01, // field 5, varint
            0x08, 1, // status SERVING
        ];
        assert_eq!(health_check_response(&message), Ok(ServingStatus::Serving));
    }

    #[test]
    fn malformed_messages_are_refused() {
        for message in [&[0x08][..], &[0x08, 0x80], &[0x12, 5, 1], &[0x0b], &[0x00, 1], &[0x80; 11]] {
            assert_eq!(
                health_check_response(message),
                Err("the answer is not a HealthCheckResponse".to_owned()),
                "{message:?}"
            );
        }
    }

    #[test]
    fn frames_are_checked() {
        assert_eq!(response(&[0, 0, 0, 0, 2, 0x08, 1]), Ok(ServingStatus::Serving));
        assert_eq!(response(&[0, 0, 0, 0, 0]), Ok(ServingStatus::Unknown));
        let cases: [(&[u8], &str); 5] = [
            (&[], "without a message"),
            (&[0, 0, 0], "cut short"),
            (&[0, 0, 0, 0, 3, 0x08, 1], "cut short"),
            (&[0, 0, 0, 0, 1, 0x08, 1], "more than one message"),
            (&[1, 0, 0, 0, 2, 0x08, 1], "compressed"),
        ];
        for (body, expected) in cases {
            let err = response(body).expect_err("refused");
            assert!(err.contains(expected), "{body:?}: {err}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_bytes_decode_or_say_why(body in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Err(why) = response(&body) {
                prop_assert!(!why.is_empty() && !why.contains('\n'));
            }
            let _ = health_check_response(&body);
        }

        #[test]
        fn a_status_reads_back_among_other_fields(
            status in 0u64..5,
            before in proptest::collection::vec(any::<u8>(), 0..20),
        ) {
            // An unknown bytes field (field 2) around the status does not change it.
            let mut message = vec![0x12, before.len() as u8];
            message.extend_from_slice(&before);
            message.extend_from_slice(&[0x08, status as u8]);
            let mut frame = vec![0, 0, 0, 0, message.len() as u8];
            frame.extend_from_slice(&message);
            prop_assert_eq!(response(&frame), Ok(ServingStatus::from_number(status)));
        }

        #[test]
        fn a_request_frame_holds_its_service(service in "\\PC{0,300}") {
            let frame = request_frame(&service);
            let length = u32::from_be_bytes(frame[1..5].try_into().unwrap()) as usize;
            prop_assert_eq!(frame.len(), 5 + length);
            if !service.is_empty() {
                let mut rest = &frame[6..];
                prop_assert_eq!(take_varint(&mut rest), Some(service.len() as u64));
                prop_assert_eq!(rest, service.as_bytes());
            }
        }
    }
}
