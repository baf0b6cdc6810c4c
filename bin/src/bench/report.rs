//! What one thread measured, merging, and printing the summary (human lines, then one JSON line).

use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies in microseconds, 1 µs .. 100 s, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("static histogram bounds are valid")
}

pub struct Tally {
    pub latency_us: Histogram<u64>,
    /// Operations completed inside the measured window.
    pub ops: u64,
    pub errors: u64,
    /// The first few error descriptions, for the operator.
    pub error_samples: Vec<String>,
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            latency_us: new_histogram(),
            ops: 0,
            errors: 0,
            error_samples: Vec::new(),
        }
    }

    pub fn record(&mut self, latency: Duration) {
        let us = (latency.as_micros() as u64).clamp(1, 100_000_000);
        // Saturating: a value beyond the bounds is clamped above, so this cannot fail.
        let _ = self.latency_us.record(us);
        self.ops += 1;
    }

    pub fn error(&mut self, what: impl FnOnce() -> String) {
        self.errors += 1;
        if self.error_samples.len() < 5 {
            self.error_samples.push(what());
        }
    }

    pub fn merge(&mut self, other: Tally) {
        let _ = self.latency_us.add(&other.latency_us);
        self.ops += other.ops;
        self.errors += other.errors;
        for s in other.error_samples {
            if self.error_samples.len() < 5 {
                self.error_samples.push(s);
            }
        }
    }
}

pub struct Summary<'a> {
    pub workload: &'a str,
    pub server: &'a str,
    pub sessions: usize,
    pub depth: usize,
    pub threads: usize,
    pub seed: u64,
    pub window: Duration,
    pub tally: &'a Tally,
}

impl Summary<'_> {
    pub fn throughput(&self) -> f64 {
        self.tally.ops as f64 / self.window.as_secs_f64().max(1e-9)
    }

    fn ms(&self, q: f64) -> f64 {
        if self.tally.ops == 0 {
            return 0.0;
        }
        self.tally.latency_us.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn print(&self) {
        let h = &self.tally.latency_us;
        println!(
            "{} against {}: {} sessions x {} in flight, {} threads, seed {}",
            self.workload, self.server, self.sessions, self.depth, self.threads, self.seed
        );
        println!(
            "  {} ops in {:.2} s: {:.0} ops/s, {} errors",
            self.tally.ops,
            self.window.as_secs_f64(),
            self.throughput(),
            self.tally.errors
        );
        println!(
            "  latency ms: p50 {:.3}  p99 {:.3}  p999 {:.3}  max {:.3}  mean {:.3}",
            self.ms(0.5),
            self.ms(0.99),
            self.ms(0.999),
            h.max() as f64 / 1000.0,
            h.mean() / 1000.0
        );
        for e in &self.tally.error_samples {
            println!("  error: {e}");
        }
        println!("{}", self.json());
    }

    pub fn json(&self) -> String {
        let h = &self.tally.latency_us;
        format!(
            "{{\"workload\":\"{}\",\"server\":\"{}\",\"sessions\":{},\"depth\":{},\"threads\":{},\"seed\":{},\
             \"seconds\":{:.3},\"ops\":{},\"ops_per_sec\":{:.1},\"errors\":{},\"p50_ms\":{:.3},\
             \"p99_ms\":{:.3},\"p999_ms\":{:.3},\"max_ms\":{:.3},\"mean_ms\":{:.3}}}",
            self.workload,
            self.server,
            self.sessions,
            self.depth,
            self.threads,
            self.seed,
            self.window.as_secs_f64(),
            self.tally.ops,
            self.throughput(),
            self.tally.errors,
            self.ms(0.5),
            self.ms(0.99),
            self.ms(0.999),
            h.max() as f64 / 1000.0,
            h.mean() / 1000.0
        )
    }
}
