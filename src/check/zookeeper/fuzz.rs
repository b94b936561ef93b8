//! The `zookeeper_answers` and `zookeeper_target` fuzz targets' checks: a server's bytes read
//! through frames of any size give the same answer, bounded and without panic, and `srvr`'s
//! answer is described on one line; a connect string is read or refused on one line.

use super::{
    target::ConnectString,
    wire::{self, Srvr},
};
use crate::fuzzing::{LONGEST_INPUT, command_line, text};

/// A server's answer, read as a ConnectResponse frame (whole and a byte at a time: the same
/// result) and as srvr's answer.
pub fn answers(data: &[u8]) {
    let data = &data[..data.len().min(LONGEST_INPUT)];
    let whole = wire::read_frame(&mut &data[..]);
    let mut trickle = OneByte(data);
    let slow = wire::read_frame(&mut trickle);
    match (&whole, &slow) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the read size changed the frame"),
        (Err(_), Err(_)) => {}
        _ => panic!("the read size changed the answer: {whole:?} / {slow:?}"),
    }
    if let Ok(body) = whole {
        assert!(body.len() <= 1024, "a frame past the bound was read");
        let _ = wire::parse_connect_response(&body);
        let _ = wire::parse_reply_header(&body);
    }
    let shown = match wire::parse_srvr(data) {
        Srvr::Mode(text) | Srvr::Other(text) => text,
        _ => String::new(),
    };
    assert!(!shown.contains(['\n', '\r', '\0', '\x1b']), "{shown:?}");
}

/// Connect strings: read, or refused with a one-line message (`command_line` checks it), and
/// a label that reads back as the same servers.
pub fn target(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(read) = ConnectString::parse(text) {
        assert!(!read.label.contains(['\n', '\r']), "{:?}", read.label);
        let again = ConnectString::parse(&read.label).expect("a label reads back");
        assert_eq!(again.hosts, read.hosts);
    }
    command_line("zookeeper", text, None);
}

/// A reader that gives one byte at a time.
struct OneByte<'a>(&'a [u8]);

impl std::io::Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&byte, rest)), Some(slot)) => {
                *slot = byte;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}
