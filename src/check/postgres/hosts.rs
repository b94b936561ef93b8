//! libpq's host list: `host`, `hostaddr` and `port` as comma-separated lists matched item by
//! item, each host with its port and the name its password file line is looked up under, and
//! hostaddr's numeric forms as getaddrinfo reads them.

use std::{net::IpAddr, path::PathBuf};

use super::settings::{Address, DEFAULT_SOCKET_DIR, Host, integer};

/// libpq's host, hostaddr and port lists: hostaddr (when given) or host decides how many hosts
/// there are; the other must match it; one port serves all, or there is one per host. Empty
/// items are libpq's defaults. Each host comes with its port and its name as the password file
/// matches them: the port as given; the host as given, else the hostaddr as given (not
/// normalised), and `localhost` for libpq's default socket directory.
pub fn hosts(
    host: Option<&str>,
    hostaddr: Option<&str>,
    port: Option<&str>,
) -> Result<Vec<(Host, String, String)>, String> {
    let list = |text: Option<&str>| -> Option<Vec<String>> {
        text.filter(|t| !t.is_empty()).map(|t| t.split(',').map(str::to_owned).collect())
    };
    let (names, addrs) = (list(host), list(hostaddr));
    let count = addrs.as_ref().or(names.as_ref()).map_or(1, Vec::len);
    if let (Some(names), Some(_)) = (&names, &addrs)
        && names.len() != count
    {
        return Err(format!("could not match {} host names to {count} hostaddr values", names.len()));
    }
    let ports = match list(port) {
        None => vec![String::new(); count],
        Some(ports) if ports.len() == 1 => vec![ports[0].clone(); count],
        Some(ports) if ports.len() == count => ports,
        Some(ports) => return Err(format!("could not match {} port numbers to {count} hosts", ports.len())),
    };
    (0..count)
        .map(|index| {
            let name = names.as_ref().map_or("", |names| names[index].as_str());
            let addr = addrs.as_ref().map_or("", |addrs| addrs[index].as_str());
            let port_text = &ports[index];
            let port = match port_text.as_str() {
                "" => 5432,
                text => match integer("port", text)? {
                    port @ 1..=65535 => port as u16,
                    _ => return Err(format!("invalid port number: \"{}\"", text.escape_debug())),
                },
            };
            let address = if !addr.is_empty() {
                let ip = parse_hostaddr(addr)
                    .ok_or_else(|| format!("could not parse network address \"{}\"", addr.escape_debug()))?;
                Address::Tcp { name: name.to_owned(), hostaddr: Some(ip) }
            } else if name.starts_with('/') {
                Address::Unix(PathBuf::from(name))
            } else if let Some(abstract_name) = name.strip_prefix('@') {
                Address::Abstract(abstract_name.to_owned())
            } else if name.is_empty() {
                Address::Default
            } else {
                Address::Tcp { name: name.to_owned(), hostaddr: None }
            };
            let passfile_name = match (name, addr) {
                ("" | DEFAULT_SOCKET_DIR, "") => "localhost",
                ("", addr) => addr,
                (name, _) if name == DEFAULT_SOCKET_DIR => "localhost",
                (name, _) => name,
            };
            Ok((Host { address, port, password: None }, port_text.clone(), passfile_name.to_owned()))
        })
        .collect()
}

/// A numeric address as libpq's getaddrinfo(AI_NUMERICHOST) reads it: IPv6, or IPv4 in any of
/// inet_aton's forms (`127.1`, `0x7f.0.0.1`, `0177.0.0.1`), which Rust's parser refuses.
fn parse_hostaddr(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    let parts: Vec<u32> = text
        .split('.')
        .map(|part| {
            let (digits, radix) = match part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
                Some(hex) => (hex, 16),
                None if part.len() > 1 && part.starts_with('0') => (&part[1..], 8),
                None => (part, 10),
            };
            match digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                true => None,
                false => u32::from_str_radix(digits, radix).ok(),
            }
        })
        .collect::<Option<_>>()?;
    let (last, leading) = parts.split_last()?;
    if leading.len() > 3 || leading.iter().any(|part| *part > 0xff) {
        return None;
    }
    let room = 8 * (4 - leading.len() as u32);
    if room < 32 && *last >> room != 0 {
        return None;
    }
    let high = leading.iter().enumerate().fold(0u32, |acc, (index, part)| acc | part << (24 - 8 * index));
    Some(IpAddr::V4(std::net::Ipv4Addr::from(high | last)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::postgres::settings::tests::settings_from;

    /// Checked against libpq 15 (psql with `hostaddr=`): inet_aton's shorter and octal or hex
    /// forms connect to 127.0.0.1; what getaddrinfo refuses is refused.
    #[test]
    fn hostaddr_forms_as_getaddrinfo_reads_them() {
        for text in ["127.0.0.1", "127.1", "0x7f.1", "0177.0.0.1", "127.0.1", "2130706433", "0x7F000001"] {
            assert_eq!(parse_hostaddr(text), Some("127.0.0.1".parse().unwrap()), "{text}");
        }
        assert_eq!(parse_hostaddr("::ffff:127.0.0.1"), Some("::ffff:127.0.0.1".parse().unwrap()));
        for text in
            ["db", "", "1.2.3.4.5", "256.1", "1.2.3.256", "08.1", "0x", "1..2", " 127.0.0.1", "4294967296"]
        {
            assert_eq!(parse_hostaddr(text), None, "{text}");
        }
    }

    #[test]
    fn host_lists_as_libpq_builds_them() {
        let s = settings_from("host=a,,/tmp,@abs port=1,,3,4", &[]).unwrap();
        let addresses: Vec<_> = s.hosts.iter().map(|h| (h.address.clone(), h.port)).collect();
        assert_eq!(
            addresses,
            [
                (Address::Tcp { name: "a".into(), hostaddr: None }, 1),
                (Address::Default, 5432),
                (Address::Unix("/tmp".into()), 3),
                (Address::Abstract("abs".into()), 4),
            ]
        );
        let s = settings_from("hostaddr=10.0.0.1,,::1 host=,b,c", &[]).unwrap();
        assert_eq!(
            s.hosts[0].address,
            Address::Tcp { name: String::new(), hostaddr: Some("10.0.0.1".parse().unwrap()) }
        );
        assert_eq!(s.hosts[1].address, Address::Tcp { name: "b".into(), hostaddr: None });
        let s = settings_from("host=db port=' 6000 '", &[("PGPORT", "1")]).unwrap();
        assert_eq!(s.hosts[0].port, 6000);
        let s = settings_from("host=db", &[("PGPORT", "6000"), ("PGHOST", "ignored")]).unwrap();
        assert_eq!(s.hosts[0].port, 6000);
    }
}
