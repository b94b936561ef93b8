//! `--status`: the healthy status codes, single codes and ranges (`200-299,304`); kubelet's
//! 200-399 by default.

use std::str::FromStr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusSet(Vec<(u16, u16)>);

impl Default for StatusSet {
    fn default() -> Self {
        StatusSet(vec![(200, 399)])
    }
}

impl StatusSet {
    pub fn contains(&self, code: u16) -> bool {
        self.0.iter().any(|&(low, high)| (low..=high).contains(&code))
    }
}

impl FromStr for StatusSet {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let code = |part: &str| match part.trim().parse::<u16>() {
            Ok(code @ 100..=599) => Ok(code),
            _ => Err(format!("'{}' is not an HTTP status code (100 to 599)", crate::quote::escaped(part.trim()))),
        };
        text.split(',')
            .map(|item| match item.split_once('-') {
                Some((low, high)) => {
                    let (low, high) = (code(low)?, code(high)?);
                    if low > high {
                        return Err(format!("'{}' is an empty range", item.trim()));
                    }
                    Ok((low, high))
                }
                None => code(item).map(|code| (code, code)),
            })
            .collect::<Result<_, _>>()
            .map(StatusSet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lists_and_ranges() {
        let set: StatusSet = "200-299, 304".parse().unwrap();
        assert!(set.contains(200) && set.contains(299) && set.contains(304));
        assert!(!set.contains(300) && !set.contains(199));
        assert!(StatusSet::default().contains(399) && !StatusSet::default().contains(400));
        for (bad, why) in
            [("", "''"), ("20x", "'20x'"), ("600", "'600'"), ("300-200", "empty range"), ("200,", "''")]
        {
            let err = bad.parse::<StatusSet>().unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn single_codes_and_ranges_are_members(low in 100u16..600, span in 0u16..100) {
            let high = (low + span).min(599);
            let set: StatusSet = format!("{low}-{high}").parse().unwrap();
            prop_assert!(set.contains(low) && set.contains(high));
            prop_assert!(!set.contains(low - 1) && !set.contains(high + 1));
        }

        #[test]
        fn any_list_parses_or_says_why_in_one_line(text in any::<String>()) {
            if let Err(why) = text.parse::<StatusSet>() {
                prop_assert!(!why.is_empty() && !why.contains('\n'));
            }
        }
    }
}
