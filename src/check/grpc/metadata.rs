//! Request metadata from `-H 'key: value'` and `-H @FILE` (read by the `header` module `probe
//! http` shares), checked as gRPC checks keys. A value may be a token: no message quotes one.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::headers;

/// The `-H` values as request metadata. `user-agent` replaces probe's own (grpc-health-probe's
/// -user-agent); other keys add up.
pub fn read(given: &[String]) -> anyhow::Result<HeaderMap> {
    let mut map = HeaderMap::new();
    headers::each(given, |name, value| add(&mut map, name, value))?;
    Ok(map)
}

fn add(map: &mut HeaderMap, name: &str, value: &str) -> Result<(), String> {
    // gRPC's rule for keys; a text that breaks it may be a mistyped secret, so it is not quoted.
    let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.');
    let lower = name.to_ascii_lowercase();
    let key = HeaderName::from_bytes(lower.as_bytes())
        .ok()
        .filter(|_| !lower.is_empty() && lower.chars().all(valid))
        .ok_or("a metadata key is made of letters, digits, '-', '_' and '.'; write 'key: value'")?;
    let reserved = matches!(
        key.as_str(),
        "content-type" | "te" | "host" | "connection" | "transfer-encoding" | "keep-alive" | "upgrade"
    ) || key.as_str().starts_with("grpc-");
    if reserved {
        return Err(format!("{} is set by probe itself", headers::named(name)));
    }
    let value = HeaderValue::from_str(value)
        .map_err(|_| format!("the value of {} has characters metadata cannot carry", headers::named(name)))?;
    if key == http::header::USER_AGENT {
        map.insert(key, value);
    } else {
        map.append(key, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_checked_without_quoting_values() {
        let given = ["Authorization: Bearer abc".into(), "x-id: 1".into(), "x-id: 2".into()];
        let map = read(&given).unwrap();
        assert_eq!(map.get("authorization").unwrap(), "Bearer abc");
        assert_eq!(map.get_all("x-id").iter().count(), 2);
        for (header, expected) in [
            ("nocolon-secret", "-H: write a header as 'Name: value'"),
            ("bad key: secret", "-H: a metadata key is made of"),
            (":path: secret", "-H: a metadata key is made of"),
            ("grpc-timeout: secret", "-H: header 'grpc-timeout' is set by probe itself"),
            ("te: secret", "-H: header 'te' is set by probe"),
            ("x: sec\u{1}ret", "-H: the value of header 'x' has a control character"),
        ] {
            let err = read(&[header.to_owned()]).unwrap_err().to_string();
            assert!(err.starts_with(expected) && !err.contains("secret"), "{header}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("metadata");
        std::fs::write(&file, "x-id: 1\nauthorization Bearer secret: x\n").unwrap();
        let err = read(&[format!("@{}", file.display())]).unwrap_err().to_string();
        assert!(err.contains(", line 2: a metadata key") && !err.contains("secret"), "{err}");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_header_is_read_or_refused_in_one_line_without_its_value(text in "[^@].*") {
            if let Err(why) = read(std::slice::from_ref(&text)).map_err(|why| why.to_string()) {
                prop_assert!(!why.contains('\n'));
                if let Some((name, value)) = text.split_once(':')
                    && value.trim().len() > 3
                    && !name.to_ascii_lowercase().contains(&value.trim().to_ascii_lowercase())
                {
                    prop_assert!(!why.contains(value.trim()), "{why}");
                }
            }
        }
    }
}
