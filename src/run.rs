//! Runs the targets concurrently (up to a bound), and in wait mode retries each one until it
//! passes or the wait is over. Knows nothing of protocols: it only calls `Check::attempt`.

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::Instant,
};

use crate::{
    check::Target,
    config::Config,
    deadline::{Deadline, Wait},
    outcome::{Outcome, Status, Verdict},
    report,
};

/// How many targets are checked at once: enough for any real probe, and a bound on threads
/// and sockets when someone passes five hundred.
const AT_ONCE: usize = 64;

/// One outcome per target, in the order the targets were given.
pub fn all(config: &Config) -> Vec<Outcome> {
    let wait_until = config.wait.map(|length| Wait { until: Instant::now() + length, length });
    if let [only] = config.targets.as_slice() {
        return vec![until_done(config, only, wait_until)];
    }
    let next = AtomicUsize::new(0);
    let done: Vec<OnceLock<Outcome>> = config.targets.iter().map(|_| OnceLock::new()).collect();
    thread::scope(|scope| {
        for _ in 0..config.targets.len().min(AT_ONCE) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = config.targets.get(index) else { break };
                    let _ = done[index].set(until_done(config, target, wait_until));
                }
            });
        }
    });
    done.into_iter().map(|slot| slot.into_inner().expect("every target ran")).collect()
}

/// Attempts `target` once, or with a wait until it passes or the next attempt would start after
/// the wait is over. Every attempt, the first included, ends by the end of the wait.
fn until_done(config: &Config, target: &Target, wait: Option<Wait>) -> Outcome {
    let started = Instant::now();
    let mut last_reported: Option<Verdict> = None;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let outcome = attempt(config, target, wait, attempts, started);
        let Some(Wait { until, .. }) = wait else { return outcome };
        if outcome.verdict.status == Status::Healthy || Instant::now() + config.interval >= until {
            return outcome;
        }
        if last_reported.as_ref() != Some(&outcome.verdict) {
            report::waiting(config, target, &outcome.verdict);
            last_reported = Some(outcome.verdict);
        }
        thread::sleep(config.interval);
    }
}

fn attempt(config: &Config, target: &Target, wait: Option<Wait>, attempts: u32, started: Instant) -> Outcome {
    let deadline = Deadline::new(config.timeout, wait);
    let check = Arc::clone(&target.check);
    let begun = Instant::now();
    let (verdict, phases) = deadline.enforce(move |trace| check.attempt(deadline, trace));
    Outcome { verdict, phases, elapsed: begun.elapsed(), attempts, total: started.elapsed() }
}
