//! What the health answer says: the HTTP/2 answer as received (headers, message, trailers), its
//! grpc-status and grpc-message, and the verdict on them. Everything quoted from it (the
//! message, a content type) goes through `quote::peer`.

use http::{HeaderMap, HeaderValue};

use super::proto::{self, ServingStatus};
use crate::{deadline::Deadline, outcome::Verdict, quote, trace::Trace, uri};

/// A health answer is a few bytes; more than this is not one.
pub const MAX_BODY: usize = 64 * 1024;

/// gRPC's status codes by number.
const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// An answer as received.
pub struct Answer {
    pub status: http::StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub trailers: Option<HeaderMap>,
    /// The message went past MAX_BODY, and was not read further.
    pub too_large: bool,
}

impl Answer {
    /// True for HTTP 200 with a gRPC content type.
    pub fn is_grpc(&self) -> bool {
        let content_type = self.headers.get(http::header::CONTENT_TYPE).map(HeaderValue::as_bytes);
        self.status == http::StatusCode::OK
            && content_type.is_some_and(|value| {
                value == b"application/grpc"
                    || value.starts_with(b"application/grpc+")
                    || value.starts_with(b"application/grpc;")
            })
    }

    /// A field of the trailers, or of the headers of a trailers-only answer.
    fn field(&self, name: &str) -> Option<&HeaderValue> {
        self.trailers.as_ref().and_then(|t| t.get(name)).or_else(|| self.headers.get(name))
    }
}

/// The verdict on an answer to a Check about `service` (empty: the whole server).
pub fn judge(answer: &Answer, service: &str, deadline: Deadline, trace: &Trace) -> Verdict {
    if answer.too_large {
        return Verdict::unreachable(format!("the answer is larger than {MAX_BODY} bytes"));
    }
    let Some(status) = answer.field("grpc-status") else {
        if !answer.is_grpc() {
            let content_type = answer.headers.get(http::header::CONTENT_TYPE).map(HeaderValue::as_bytes);
            return Verdict::unreachable(format!(
                "the answer is not gRPC (HTTP {}, content-type {})",
                answer.status.as_u16(),
                quote::peer(content_type.unwrap_or(b"none"))
            ));
        }
        return Verdict::unreachable("the answer ended without a grpc-status");
    };
    let code = status.to_str().ok().and_then(|code| code.parse::<u32>().ok());
    let message = answer.field("grpc-message").map(|value| message(value.as_bytes())).filter(|m| !m.is_empty());
    let quoted = message.map(|message| format!(" \"{message}\"")).unwrap_or_default();
    let code = match code {
        Some(0) => return judge_message(&answer.body, service),
        Some(4) => return deadline.timed_out(trace),
        Some(12) => {
            return Verdict::unhealthy(format!("the server has no health service (UNIMPLEMENTED{quoted})"));
        }
        Some(5) if !service.is_empty() => {
            let service = quote::escaped(service);
            return Verdict::unhealthy(format!("NOT_FOUND{quoted}: the server knows no service \"{service}\""));
        }
        Some(code) => code,
        None => return Verdict::unreachable("the answer's grpc-status is not a number"),
    };
    let name = CODE_NAMES.get(code as usize).map_or_else(|| format!("grpc-status {code}"), |name| (*name).to_owned());
    Verdict::unhealthy(format!("{name}{quoted}"))
}

fn judge_message(body: &[u8], service: &str) -> Verdict {
    let status = match proto::response(body) {
        Ok(status) => status,
        Err(why) => return Verdict::unreachable(why),
    };
    let said = if service.is_empty() {
        status.to_string()
    } else {
        format!("{status} for service \"{}\"", quote::escaped(service))
    };
    match status {
        ServingStatus::Serving => Verdict::healthy(said),
        _ => Verdict::unhealthy(said),
    }
}

/// grpc-message as it may be printed: percent-decoded UTF-8 (as written when its escapes are
/// bad, as gRPC allows), then quoted as every peer's text is.
fn message(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    match uri::decode_bytes(&text) {
        Ok(decoded) => quote::peer(decoded),
        Err(_) => quote::peer(raw),
    }
}

/// The time left as a grpc-timeout value: at most eight digits, in the finest unit that fits.
pub fn grpc_timeout(left: std::time::Duration) -> String {
    let micros = left.as_micros().max(1);
    if micros <= 99_999_999 {
        format!("{micros}u")
    } else {
        format!("{}m", (left.as_millis()).min(99_999_999))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_time_left_fits_grpc_timeout() {
        assert_eq!(grpc_timeout(Duration::from_millis(900)), "900000u");
        assert_eq!(grpc_timeout(Duration::ZERO), "1u");
        assert_eq!(grpc_timeout(Duration::from_secs(3600)), "3600000m");
    }

    #[test]
    fn grpc_messages_are_decoded_and_kept_to_one_line() {
        assert_eq!(message(b"missing%20token"), "missing token");
        assert_eq!(message(b"caf%C3%A9"), "café");
        assert_eq!(message(b"bad%zzescape"), "bad%zzescape");
        assert_eq!(message(b"a%0Ab%1B[2J%00"), "a\\nb\\x1b[2J\\0");
        assert_eq!(message("x".repeat(400).as_bytes()).chars().count(), quote::LONGEST + 1);
    }
}
