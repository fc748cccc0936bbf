//! The results table and the JSON line.

use serde_json::json;

use crate::args::Plan;
use crate::e2e::{EndToEnd, PollFigures};
use crate::ingest::IngestFigures;
use crate::memory::MemoryFigures;

/// Every figure of one run.
pub struct Figures {
    pub ingest: IngestFigures,
    pub poll: PollFigures,
    pub batched: EndToEnd,
    pub unbatched: EndToEnd,
    pub memory: MemoryFigures,
    pub fsm: crate::fsm_rate::FsmRate,
}

/// A target: the bound and whether larger values are better.
enum Target {
    AtLeast(f64),
    Below(f64),
    AtMost(f64),
    None,
}

impl Target {
    fn text(&self) -> String {
        match self {
            Target::AtLeast(bound) => format!(">= {bound}"),
            Target::Below(bound) => format!("< {bound}"),
            Target::AtMost(bound) => format!("<= {bound}"),
            Target::None => "-".to_owned(),
        }
    }

    fn verdict(&self, value: f64) -> &'static str {
        let met = match self {
            Target::AtLeast(bound) => value >= *bound,
            Target::Below(bound) => value < *bound,
            Target::AtMost(bound) => value <= *bound,
            Target::None => return "",
        };
        if met {
            "met"
        } else {
            "MISSED"
        }
    }
}

/// Prints the table to stdout, then the JSON line last.
pub fn print(plan: &Plan, figures: &Figures) {
    let ingest = &figures.ingest;
    let ceiling_per_s = ingest.ceiling.per_second();
    let ingest_per_s = ingest.ingest.per_second();
    let memory = &figures.memory;
    let idle_rss_mb = memory.idle_rss_kb as f64 / 1024.0;
    let live_rss_mb = memory.live_rss_kb as f64 / 1024.0;
    let (batched, unbatched) = (&figures.batched, &figures.unbatched);
    let poll = &figures.poll;

    let rows: Vec<(String, f64, Target, String)> = vec![
        (
            "ceiling: bare endpoint, req/s".to_owned(),
            ceiling_per_s,
            Target::None,
            failures(ingest.ceiling.failed),
        ),
        (
            "durable ingest, webhooks/s".to_owned(),
            ingest_per_s,
            Target::None,
            failures(ingest.ingest.failed),
        ),
        (
            "ingest / ceiling".to_owned(),
            ingest_per_s / ceiling_per_s,
            Target::AtLeast(0.25),
            String::new(),
        ),
        (
            format!("ack p50 at {}/s, ms", plan.ack_rate),
            ingest.ack.quantile_ms(0.5),
            Target::None,
            failures(ingest.ack.failed),
        ),
        (
            format!("ack p99 at {}/s, ms", plan.ack_rate),
            ingest.ack.quantile_ms(0.99),
            Target::Below(50.0),
            format!("max {:.1} ms", ingest.ack.max_ms()),
        ),
        (
            format!("e2e p50 at {}/s, ms", batched.rate),
            batched.p(0.5),
            Target::None,
            visibility(batched),
        ),
        (
            format!("e2e p99 at {}/s, ms", batched.rate),
            batched.p(0.99),
            Target::Below(2000.0),
            String::new(),
        ),
        (
            "SF calls / 1000 changes".to_owned(),
            batched.calls_per_1000(),
            Target::AtMost(10.0),
            format!("batch size {}, {:?}", batched.batch_size, batched.calls),
        ),
        (
            "SF calls / 1000 changes, unbatched".to_owned(),
            unbatched.calls_per_1000(),
            Target::None,
            format!(
                "p50 {:.0} ms, p99 {:.0} ms, {}",
                unbatched.p(0.5),
                unbatched.p(0.99),
                visibility(unbatched)
            ),
        ),
        (
            format!("large poll ({} rows), records/s", poll.rows),
            poll.records_per_s(),
            Target::AtLeast(5000.0),
            format!("{} SF calls {:?}", poll.total_calls(), poll.calls),
        ),
        (
            "SF calls per idle poll".to_owned(),
            poll.idle_poll_calls as f64,
            Target::AtMost(1.0),
            format!(
                "after the large poll; {} call(s) in an org with no changes",
                ingest.quiet_poll_calls
            ),
        ),
        (
            format!("idle RSS, {} mappings, MB", memory.mappings),
            idle_rss_mb,
            Target::Below(300.0),
            format!("store filled in {:.1} s", memory.fill_s),
        ),
        (
            "RSS per live actor, kB".to_owned(),
            memory.kb_per_actor(),
            Target::None,
            format!("{} actors, {:.1} MB", memory.live_actors, live_rss_mb),
        ),
        (
            format!("start to serving, {} mappings, s", memory.mappings),
            memory.startup_s,
            Target::Below(5.0),
            String::new(),
        ),
        (
            "fsm transitions per CPU-second".to_owned(),
            figures.fsm.per_cpu_s,
            Target::None,
            format!("{:.0} per wall-clock second", figures.fsm.per_wall_s),
        ),
    ];

    println!();
    println!(
        "{:<40} {:>14} {:>10} {:>7}  note",
        "figure", "measured", "target", ""
    );
    for (name, value, target, note) in &rows {
        println!(
            "{name:<40} {value:>14.2} {:>10} {:>7}  {note}",
            target.text(),
            target.verdict(*value)
        );
    }
    println!();

    // The keys stay in this order, which serde_json's map would sort.
    let fields = [
        ("ceiling_per_s", json!(round(ceiling_per_s, 0))),
        ("ingest_per_s", json!(round(ingest_per_s, 0))),
        (
            "ingest_ratio",
            json!(round(ingest_per_s / ceiling_per_s, 3)),
        ),
        ("ack_p50_ms", json!(round(ingest.ack.quantile_ms(0.5), 2))),
        ("ack_p99_ms", json!(round(ingest.ack.quantile_ms(0.99), 2))),
        ("e2e_p50_ms", json!(round(batched.p(0.5), 1))),
        ("e2e_p99_ms", json!(round(batched.p(0.99), 1))),
        (
            "sf_calls_per_1000_changes",
            json!(round(batched.calls_per_1000(), 2)),
        ),
        (
            "sf_calls_per_1000_changes_unbatched",
            json!(round(unbatched.calls_per_1000(), 2)),
        ),
        ("sf_calls_per_idle_poll", json!(poll.idle_poll_calls)),
        ("poll_records_per_s", json!(round(poll.records_per_s(), 0))),
        ("idle_rss_mb_1m", json!(round(idle_rss_mb, 1))),
        (
            "rss_kb_per_live_actor",
            json!(round(memory.kb_per_actor(), 2)),
        ),
        ("startup_s_1m", json!(round(memory.startup_s, 3))),
        (
            "fsm_transitions_per_s",
            json!(round(figures.fsm.per_cpu_s, 0)),
        ),
    ];
    let line = fields
        .iter()
        .map(|(key, value)| format!("{}:{value}", json!(key)))
        .collect::<Vec<_>>()
        .join(",");
    println!("{{{line}}}");
}

fn failures(failed: u64) -> String {
    if failed == 0 {
        String::new()
    } else {
        format!("{failed} failed")
    }
}

fn visibility(run: &EndToEnd) -> String {
    let mut note = format!("{} of {} changes visible", run.visible, run.acked);
    if run.failed > 0 {
        note.push_str(&format!(", {} not acknowledged", run.failed));
    }
    if !run.settled {
        note.push_str(", did not settle");
    }
    note
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}
