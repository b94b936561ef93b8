//! The fake broker's frames the check's tests replay (what RabbitMQ sends), and the tests of
//! reading and writing frames.

use super::*;

/// What RabbitMQ 3.10 sends as Connection.Start (server-properties trimmed to a sample of
/// each shape: nested capabilities, text, a long string of mechanisms).
pub fn rabbitmq_start(mechanisms: &str) -> Vec<u8> {
    let mut w = Writer::default();
    w.octet(0).octet(9);
    w.table(&[
        (
            "capabilities",
            Field::Table(&[
                ("publisher_confirms", Field::Bool(true)),
                ("authentication_failure_close", Field::Bool(true)),
                ("per_consumer_qos", Field::Bool(false)),
            ]),
        ),
        ("cluster_name", Field::Text("rabbit@pod-0")),
        ("product", Field::Text("RabbitMQ")),
        ("version", Field::Text("3.10.8")),
    ]);
    w.long_string(mechanisms.as_bytes()).long_string(b"en_US");
    connection_method(START, &w.out)
}

pub fn tune(channel_max: u16, frame_max: u32, heartbeat: u16) -> Vec<u8> {
    let mut w = Writer::default();
    w.short(channel_max).long(frame_max).short(heartbeat);
    connection_method(TUNE, &w.out)
}

pub fn open_ok() -> Vec<u8> {
    connection_method(OPEN_OK, &[0])
}

pub fn server_close(code: u16, text: &str) -> Vec<u8> {
    let mut w = Writer::default();
    w.short(code).short_string(text.as_bytes()).short(10).short(40);
    connection_method(CLOSE, &w.out)
}

pub fn blocked(reason: &str) -> Vec<u8> {
    let mut w = Writer::default();
    w.short_string(reason.as_bytes());
    connection_method(BLOCKED, &w.out)
}

pub fn unblocked() -> Vec<u8> {
    connection_method(UNBLOCKED, &[])
}

fn method(bytes: &[u8]) -> Method {
    let frame = read_frame(&mut &bytes[..]).expect("a frame");
    assert_eq!(frame.kind, FRAME_METHOD);
    parse_method(&frame.payload).expect("a method")
}

#[test]
fn reads_rabbitmqs_start() {
    let Method::Start { version, server, mechanisms } = method(&rabbitmq_start("AMQPLAIN PLAIN")) else {
        panic!("not Start")
    };
    assert_eq!(version, (0, 9));
    assert_eq!(mechanisms, ["AMQPLAIN", "PLAIN"]);
    assert_eq!(server.describe().as_deref(), Some("RabbitMQ 3.10.8"));
    assert_eq!(server.cluster_name.as_deref(), Some("rabbit@pod-0"));
    assert_eq!(server.capabilities, ["publisher_confirms", "authentication_failure_close"]);
}

#[test]
fn reads_the_other_connection_methods() {
    assert_eq!(
        method(&tune(2047, 131_072, 60)),
        Method::Tune { channel_max: 2047, frame_max: 131_072, heartbeat: 60 }
    );
    assert_eq!(method(&open_ok()), Method::OpenOk);
    assert_eq!(
        method(&server_close(530, "NOT_ALLOWED - vhost x not found")),
        Method::Close { code: 530, text: "NOT_ALLOWED - vhost x not found".into() }
    );
    assert_eq!(method(&close_ok()), Method::CloseOk);
    assert_eq!(method(&blocked("low on memory")), Method::Blocked { reason: "low on memory".into() });
    assert_eq!(method(&unblocked()), Method::Unblocked);
    // Channel.Open (class 20) is some other method.
    let channel_open = frame(FRAME_METHOD, 1, &[0, 20, 0, 10, 0]);
    assert_eq!(method(&channel_open), Method::Other { class: 20, method: 10 });
}

#[test]
fn writes_the_client_methods_byte_for_byte() {
    // Connection.Open for "/" as in the specification's layout: class 10, method 40,
    // shortstr "/", shortstr "", bit 0.
    assert_eq!(open("/"), [1, 0, 0, 0, 0, 0, 8, 0, 10, 0, 40, 1, b'/', 0, 0, 0xCE]);
    assert_eq!(close_ok(), [1, 0, 0, 0, 0, 0, 4, 0, 10, 0, 51, 0xCE]);
    assert_eq!(
        tune_ok(2047, 131_072, 0),
        [1, 0, 0, 0, 0, 0, 12, 0, 10, 0, 31, 0x07, 0xFF, 0, 2, 0, 0, 0, 0, 0xCE]
    );
    assert_eq!(plain_response("guest", "pw"), b"\0guest\0pw");
    assert_eq!(amqplain_response("u", "p"), b"\x05LOGINS\x00\x00\x00\x01u\x08PASSWORDS\x00\x00\x00\x01p");
    let frame = close(200, "Goodbye");
    let parsed = read_frame(&mut &frame[..]).unwrap();
    assert_eq!(parsed.payload, b"\x00\x0a\x00\x32\x00\xc8\x07Goodbye\x00\x00\x00\x00");
}

#[test]
fn start_ok_carries_nested_client_properties() {
    let capabilities = [("authentication_failure_close", Field::Bool(true))];
    let frame = start_ok(
        &[("product", Field::Text("probe")), ("capabilities", Field::Table(&capabilities))],
        "PLAIN",
        &plain_response("guest", "guest"),
    );
    let parsed = read_frame(&mut &frame[..]).unwrap();
    let mut at = Cursor { bytes: &parsed.payload[4..] };
    let table = at.table(0).unwrap();
    assert_eq!(table[0], ("product".into(), Value::Text("probe".into())));
    assert_eq!(
        table[1],
        (
            "capabilities".into(),
            Value::Table(vec![("authentication_failure_close".into(), Value::Bool(true))])
        )
    );
    assert_eq!(at.short_string().unwrap(), b"PLAIN");
    assert_eq!(at.long_string().unwrap(), b"\0guest\0guest");
    assert_eq!(at.short_string().unwrap(), b"en_US");
    assert!(at.bytes.is_empty());
}

#[test]
fn other_versions_and_protocols_are_named() {
    let version = |bytes: &[u8]| read_frame(&mut &bytes[..]).unwrap_err().to_string();
    assert_eq!(
        version(b"AMQP\x00\x01\x00\x00"),
        "the broker speaks AMQP 1.0, not AMQP 0-9-1 (its protocol header: AMQP 0-1-0-0)"
    );
    assert_eq!(
        version(b"AMQP\x03\x01\x00\x00"),
        "the broker speaks AMQP 1.0, not AMQP 0-9-1 (its protocol header: AMQP 3-1-0-0)"
    );
    assert_eq!(
        version(b"AMQP\x01\x01\x00\x09"),
        "the broker speaks AMQP 0-9, not AMQP 0-9-1 (its protocol header: AMQP 1-1-0-9)"
    );
    assert_eq!(
        version(b"AMQP\x00\x00\x09\x01"),
        "the peer sent back the protocol header it was sent (AMQP 0-0-9-1) instead of \
         Connection.Start: an echo, not an AMQP broker"
    );
    assert_eq!(
        version(b"AMQP\x09\x09\x09\x09"),
        "the peer answered with the protocol header AMQP 9-9-9-9, which names no AMQP version"
    );
    assert!(version(b"HTTP/1.1 400").contains("frame type 72"));
    assert!(version(b"AMQX1234").contains("it begins 'AMQX1234'"));
    assert!(version(b"AMQX\n\r\x1b\0").contains("it begins 'AMQX\\n\\r\\x1b\\0'"));
    assert!(version(b"AM").contains("a cut-off protocol header"));
    assert!(version(b"\x01\x00").contains("a cut-off frame header"));
}

#[test]
fn frames_are_capped_and_checked() {
    let huge = [1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
    assert!(read_frame(&mut &huge[..]).unwrap_err().to_string().contains("a frame of 4294967295 bytes"));
    let no_end = [1, 0, 0, 0, 0, 0, 1, 7, 0];
    assert!(read_frame(&mut &no_end[..]).unwrap_err().to_string().contains("frame-end"));
    let short = [1, 0, 0, 0, 0, 0, 9, 7];
    assert!(matches!(read_frame(&mut &short[..]), Err(WireError::Io(_))));
}

#[test]
fn every_field_type_is_skipped_and_deep_nesting_refused() {
    let mut w = Writer::default();
    let mut fields = Vec::new();
    for (kind, size) in [(b'b', 1), (b'B', 1), (b's', 2), (b'u', 2), (b'I', 4), (b'i', 4), (b'f', 4)]
        .into_iter()
        .chain([(b'D', 5), (b'l', 8), (b'd', 8), (b'T', 8), (b'V', 0)])
    {
        fields.extend_from_slice(&[1, b'k', kind]);
        fields.extend(std::iter::repeat_n(0xAB, size));
    }
    fields.extend_from_slice(&[1, b'x', b'x', 0, 0, 0, 2, 1, 2, 1, b'a', b'A', 0, 0, 0, 2, b't', 1]);
    w.long_string(&fields);
    let table = Cursor { bytes: &w.out }.table(0).unwrap();
    assert_eq!(table.len(), 14);
    assert_eq!(table[0], ("k".into(), Value::Other));

    let mut nested = Vec::new();
    for _ in 0..40 {
        let mut outer = vec![1, b'n', b'F'];
        outer.extend_from_slice(&u32::try_from(nested.len()).unwrap().to_be_bytes());
        outer.extend_from_slice(&nested);
        nested = outer;
    }
    let mut w = Writer::default();
    w.long_string(&nested);
    let err = Cursor { bytes: &w.out }.table(0).unwrap_err().to_string();
    assert!(err.contains("nested too deep"), "{err}");
}
