//! Runs the targets concurrently (up to a bound), and in wait mode retries each one until it
//! passes or the wait is over. Knows nothing of protocols: it only calls `Check::attempt`.

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use crate::{
    check::Target,
    config::Config,
    deadline::{Deadline, Ended, SHORTEST_ATTEMPT, Wait},
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

/// Attempts `target` once, or with a wait until it passes or the wait is over. A wait runs its
/// whole length: after a failure, the pause is the interval or what is left of the wait less
/// the time a last attempt needs, whichever is shorter, so `--wait 3s --interval 5s` tries again
/// near the end. Every attempt, the first included, ends by the end of the wait, and none starts
/// with less than [`SHORTEST_ATTEMPT`] (or `-t`), however late a pause ends. A last attempt the
/// wait cuts short can still pass; if it does not, the verdict before it stands, since "the wait
/// ran out" would hide what the target said (a slow `NOT_SERVING` would turn from 1 into 2).
fn until_done(config: &Config, target: &Target, wait: Option<Wait>) -> Outcome {
    let started = Instant::now();
    let mut last_reported: Option<Verdict> = None;
    let mut before: Option<Outcome> = None;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (outcome, wait_ran_out) = attempt(config, target, wait, attempts, started);
        let Some(Wait { until, .. }) = wait else { return outcome };
        if outcome.verdict.status == Status::Healthy {
            return outcome;
        }
        if wait_ran_out && let Some(before) = before {
            return Outcome { attempts, total: outcome.total, ..before };
        }
        let left = until.saturating_duration_since(Instant::now());
        let Some(pause) = pause(config.interval, config.timeout, left) else { return outcome };
        if last_reported.as_ref() != Some(&outcome.verdict) {
            report::waiting(config, target, &outcome.verdict);
            last_reported = Some(outcome.verdict.clone());
        }
        before = Some(outcome);
        thread::sleep(pause);
    }
}

/// The pause before the next attempt when `left` of the wait remains: the interval, but never
/// into the time a last attempt needs (`-t`, or [`SHORTEST_ATTEMPT`] if shorter). None when not
/// even that is left.
fn pause(interval: Duration, timeout: Duration, left: Duration) -> Option<Duration> {
    let room = left.checked_sub(timeout.min(SHORTEST_ATTEMPT))?;
    Some(interval.min(room))
}

/// One attempt, and whether the end of the wait cut it short before it had an answer.
fn attempt(
    config: &Config,
    target: &Target,
    wait: Option<Wait>,
    attempts: u32,
    started: Instant,
) -> (Outcome, bool) {
    let deadline = Deadline::new(config.timeout, wait);
    let check = Arc::clone(&target.check);
    let begun = Instant::now();
    let Ended { verdict, phases, wait_ran_out } =
        deadline.enforce(move |trace| check.attempt(deadline, trace));
    (Outcome { verdict, phases, elapsed: begun.elapsed(), attempts, total: started.elapsed() }, wait_ran_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_wait_runs_its_whole_length_whatever_the_interval() {
        let (interval, timeout) = (ms(1000), ms(900));
        // Plenty left: the interval.
        assert_eq!(pause(interval, timeout, ms(10_000)), Some(interval));
        // Less than an interval left: pause until a last attempt's time remains, and try then.
        assert_eq!(pause(ms(5000), timeout, ms(3000)), Some(ms(2900)));
        assert_eq!(pause(interval, timeout, ms(150)), Some(ms(50)));
        assert_eq!(pause(interval, timeout, SHORTEST_ATTEMPT), Some(Duration::ZERO));
        // Not even that: the last verdict stands.
        assert_eq!(pause(interval, timeout, ms(99)), None);
        assert_eq!(pause(interval, timeout, Duration::ZERO), None);
        // A -t shorter than the shortest attempt is all a last attempt needs.
        assert_eq!(pause(interval, ms(20), ms(50)), Some(ms(30)));
        assert_eq!(pause(interval, ms(20), ms(19)), None);
    }
}
