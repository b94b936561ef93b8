//! Everything probe prints about targets: one text line or one JSON object per target, the
//! `waiting:` lines of wait mode, and nothing at all with `-q`. Healthy text goes to stdout,
//! failures to stderr; JSON always to stdout.

use std::{
    fmt::Write as _,
    io::{self, Write as _},
};

use crate::{
    check::Target,
    config::{Config, Output},
    duration,
    outcome::{Outcome, Status, Verdict},
    quote,
    quote::json_string,
};

/// Prints each target's final line, in the order the targets were given.
pub fn finish(config: &Config, outcomes: &[Outcome]) {
    for (target, outcome) in config.targets.iter().zip(outcomes) {
        match config.output {
            Output::Quiet => {}
            Output::Text { verbose } => {
                let line = text_line(config.check, target, outcome, verbose);
                print_line(outcome.verdict.status == Status::Healthy, &line);
            }
            Output::Json { verbose } => {
                print_line(true, &json_line(config.check, target, outcome, verbose, config.wait.is_some()))
            }
        }
    }
}

/// In wait mode, says on stderr that a target is still failing, and why.
pub fn waiting(config: &Config, target: &Target, verdict: &Verdict) {
    if let Output::Text { .. } = config.output {
        let word = verdict.status.word();
        print_line(
            false,
            &format!(
                "waiting: {} {}: {word}: {}",
                config.check,
                one_line(&target.label),
                one_line(&verdict.message)
            ),
        );
    }
}

/// Prints one line on stdout or stderr; every line probe prints goes through here (or
/// [`print_bytes`]), never through `println!`, which panics on a closed pipe. One write per
/// line, so lines from concurrent targets never interleave. A closed pipe (`probe … | head -c
/// 10`) is not worth failing the probe over: the exit status still says it all.
pub fn print_line(to_stdout: bool, line: &str) {
    let _ = print_bytes(to_stdout, format!("{line}\n").as_bytes());
}

/// Writes `bytes` whole to stdout or stderr; the error, if any, is the caller's to judge.
pub fn print_bytes(to_stdout: bool, bytes: &[u8]) -> io::Result<()> {
    if to_stdout {
        let mut out = io::stdout().lock();
        out.write_all(bytes)?;
        out.flush()
    } else {
        io::stderr().lock().write_all(bytes)
    }
}

fn text_line(check: &str, target: &Target, outcome: &Outcome, verbose: bool) -> String {
    let verdict = &outcome.verdict;
    let mut line = format!(
        "{check} {}: {}: {} ({}",
        one_line(&target.label),
        verdict.status.word(),
        one_line(&verdict.message),
        duration::elapsed(outcome.elapsed)
    );
    if verbose && !outcome.phases.is_empty() {
        let phases: Vec<String> = outcome
            .phases
            .iter()
            .map(|phase| format!("{} {}", phase.name, duration::elapsed(phase.took)))
            .collect();
        let _ = write!(line, "; {}", phases.join(", "));
    }
    if outcome.attempts > 1 {
        let _ = write!(line, "; after {} attempts in {}", outcome.attempts, duration::elapsed(outcome.total));
    }
    line.push(')');
    line
}

fn json_line(check: &str, target: &Target, outcome: &Outcome, verbose: bool, waited: bool) -> String {
    let verdict = &outcome.verdict;
    let mut json = format!(
        r#"{{"check":{},"target":{},"ok":{},"status":{},"message":{},"elapsed_ms":{}"#,
        json_string(check),
        json_string(&target.label),
        verdict.status == Status::Healthy,
        json_string(verdict.status.word()),
        json_string(&verdict.message),
        millis(outcome.elapsed),
    );
    if verbose {
        let phases: Vec<String> = outcome
            .phases
            .iter()
            .map(|phase| format!(r#"{{"name":{},"ms":{}}}"#, json_string(phase.name), millis(phase.took)))
            .collect();
        let _ = write!(json, r#","phases":[{}]"#, phases.join(","));
    }
    if waited {
        let _ = write!(json, r#","attempts":{}"#, outcome.attempts);
    }
    json.push('}');
    json
}

/// A label or message as a text line prints it. Checks build them from their parse and quote
/// every peer through `quote`, so nothing here should need escaping: a debug build (the tests')
/// fails loudly where a check forgot; a release build escapes it anyway, so one target is
/// always one line.
fn one_line(text: &str) -> String {
    let printable = quote::escaped(text);
    debug_assert_eq!(printable, text, "a check printed a control character unquoted");
    printable
}

fn millis(duration: std::time::Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use super::*;
    use crate::{check::Check, deadline::Deadline, outcome::Phase, trace::Trace};

    struct Never;
    impl Check for Never {
        fn attempt(&self, _: Deadline, _: &Trace) -> Verdict {
            unreachable!("report tests never run a check")
        }
    }

    fn outcome(verdict: Verdict, attempts: u32) -> (Target, Outcome) {
        let target = Target { label: "cache:6379".into(), check: Arc::new(Never) };
        let phases = vec![
            Phase { name: "resolve", took: Duration::from_micros(40) },
            Phase { name: "connect", took: Duration::from_micros(210) },
        ];
        let elapsed = Duration::from_micros(2140);
        (target, Outcome { verdict, phases, elapsed, attempts, total: Duration::from_millis(3020) })
    }

    #[test]
    fn text_lines_put_the_diagnosis_first() {
        let (target, done) = outcome(Verdict::unhealthy("LOADING Redis is loading"), 1);
        assert_eq!(
            text_line("redis", &target, &done, false),
            "redis cache:6379: unhealthy: LOADING Redis is loading (2.1 ms)"
        );
        assert_eq!(
            text_line("redis", &target, &done, true),
            "redis cache:6379: unhealthy: LOADING Redis is loading (2.1 ms; resolve 0.0 ms, connect 0.2 ms)"
        );
        let (target, done) = outcome(Verdict::healthy("connected"), 4);
        assert_eq!(
            text_line("tcp", &target, &done, false),
            "tcp cache:6379: ok: connected (2.1 ms; after 4 attempts in 3.02 s)"
        );
    }

    #[test]
    fn json_objects_have_the_spec_fields() {
        let (target, done) = outcome(Verdict::unreachable("said \"no\"\n\u{1}"), 2);
        assert_eq!(
            json_line("tcp", &target, &done, true, true),
            r#"{"check":"tcp","target":"cache:6379","ok":false,"status":"unreachable","message":"said \"no\"\n\u0001","elapsed_ms":2.1,"phases":[{"name":"resolve","ms":0.0},{"name":"connect","ms":0.2}],"attempts":2}"#
        );
        assert_eq!(
            json_line("tcp", &target, &done, false, false),
            r#"{"check":"tcp","target":"cache:6379","ok":false,"status":"unreachable","message":"said \"no\"\n\u0001","elapsed_ms":2.1}"#
        );
    }
}
