//! Figure 7: state-machine transitions per second, measured in this process on one thread.
//! The rate per second of the thread's CPU time is the one-core rate even on a shared machine.
//!
//! A mapped person receives Intercom updates that alternate its phone number, each newer
//! than the last, so every transition changes the state and requests a Salesforce write.

use std::hint::black_box;
use std::time::{Duration, Instant};

use intersync::config::SyncSettings;
use intersync::sync::attributes::AttributeMap;
use intersync::sync::intercom_events::person_change;
use intersync_fsm::{transition, Event, IntercomId, IntercomRef, IntercomRole, Timestamp, Value};

use crate::memory::{contact_item, mapped_state, STORED_AT_SECS};

/// Transitions per second of wall time and per second of this thread's CPU time.
pub struct FsmRate {
    pub per_wall_s: f64,
    pub per_cpu_s: f64,
}

/// Runs transitions for `duration` of wall time on the calling thread.
pub fn measure(duration: Duration) -> anyhow::Result<FsmRate> {
    let attributes = AttributeMap::from_settings(&SyncSettings::default())?;
    let rules = attributes.rules(false);
    let mut state = mapped_state(0, &attributes)?;
    let person = IntercomRef {
        id: IntercomId::parse(&format!("{:024x}", 0))?,
        role: IntercomRole::User,
    };
    let template = person_change(&person, &contact_item(0), &attributes, STORED_AT_SECS);
    let phones = [
        Value::Text("+1 555 0100".to_owned()),
        Value::Text("+1 555 0199".to_owned()),
    ];

    let cpu_started_ns = thread_cpu_ns()?;
    let started = Instant::now();
    let mut transitions: u64 = 0;
    let mut with_effects: u64 = 0;
    while started.elapsed() < duration {
        for _ in 0..1_000 {
            transitions += 1;
            let mut change = template.clone();
            change.at = Timestamp::from_secs(STORED_AT_SECS + transitions as i64);
            change.attributes.insert(
                "phone".to_owned(),
                phones[(transitions % 2) as usize].clone(),
            );
            let step = transition(state, &Event::PersonUpdated(change), &rules);
            with_effects += u64::from(!step.effects.is_empty());
            black_box(&step.effects);
            state = step.state;
        }
    }
    let wall_s = started.elapsed().as_secs_f64();
    let cpu_s = (thread_cpu_ns()? - cpu_started_ns) as f64 / 1e9;
    if with_effects == 0 {
        anyhow::bail!("no transition requested a write; the measured updates changed nothing");
    }
    Ok(FsmRate {
        per_wall_s: transitions as f64 / wall_s,
        per_cpu_s: transitions as f64 / cpu_s,
    })
}

/// Reads the CPU time of the calling thread in nanoseconds, the first field of Linux's
/// `/proc/thread-self/schedstat`.
fn thread_cpu_ns() -> anyhow::Result<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    text.split_whitespace()
        .next()
        .and_then(|field| field.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("invalid /proc/thread-self/schedstat: {text:?}"))
}
