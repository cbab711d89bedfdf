//! Fitting the confidence table (`doubt::FACTORS` and `doubt::THRESHOLD`) from readings whose correctness is known.
//!
//! The input is one [`Sample`] per question of a tuning set: the features of the engine's reading, taken before the
//! threshold ([`super::Engine::read`]), and whether that reading's result equals the gold result. The fit has two
//! steps, neither of which looks at any other data:
//!
//! 1. **Factors**: a logistic model of "the reading is right", `P = σ(b + Σ β_f · count_f)`, fitted by maximum
//!    likelihood with an L2 penalty `l2/2 · Σ β_f²` on the feature weights (not on the intercept `b`), and every
//!    `β_f ≤ 0`, so each feature can only lower the confidence. Cyclic coordinate descent with a one-dimensional
//!    Newton step per weight, projected on `β_f ≤ 0`; the problem is convex, so the result does not depend on where
//!    it starts (it starts from zero). The factor of `f` is `e^β_f`, rounded to three decimals. A feature that no
//!    sample has cannot be fitted: it keeps its share of the way to the threshold, `f' = f ^ (ln T' / ln T)` with
//!    `T` the current and `T'` the new threshold (reported as `kept`), so a doubt that alone withheld an answer
//!    still does.
//! 2. **Threshold**: with those factors, the engine answers when `Π factor ^ count ≥ T`. `T` is the threshold that
//!    answers the most samples right while the wrong rate stays at or below `max_wrong_rate` — the constrained form
//!    of maximizing `right − λ · wrong`, with the bound on wrong answers stated directly instead of a price `λ` (the
//!    maximizers of `right − λ · wrong` jump between far-apart wrong rates as `λ` moves, because the trade-off curve
//!    is not concave, so no `λ` need give the wanted rate). The intercept `b` is not part of the table: the
//!    threshold plays its part.
//!
//! Rates are shares of every scored question, including those with no reading at all (`unreadable`).

use super::doubt::{self, FACTORS, N};

/// One question of the tuning set.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Feature counts in the order of [`super::feature_names`].
    pub features: Vec<f32>,
    /// The reading's result equals the gold result.
    pub right: bool,
}

/// Factors and threshold: what `doubt.rs` holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// One per feature, in the order of [`super::feature_names`].
    pub factors: Vec<f32>,
    pub threshold: f32,
}

impl Table {
    /// The table the engine uses now.
    pub fn current() -> Table {
        Table { factors: FACTORS.iter().map(|r| r.2).collect(), threshold: doubt::THRESHOLD }
    }

    /// `Π factor ^ count`, as the engine computes it.
    pub fn confidence(&self, features: &[f32]) -> f32 {
        doubt::product(self.factors.iter().copied(), features)
    }

    /// Whether a reading with these features is answered.
    pub fn answers(&self, features: &[f32]) -> bool {
        self.confidence(features) >= self.threshold
    }

    /// The Rust text of `FACTORS` and `THRESHOLD`, to paste into `doubt.rs`.
    pub fn to_rust(&self) -> String {
        let mut out = String::from("pub(crate) const FACTORS: [(F, &str, f32); N] = [\n");
        for (i, (f, name, _)) in FACTORS.iter().enumerate() {
            let factor = self.factors.get(i).copied().unwrap_or(1.0);
            out.push_str(&format!("    (F::{f:?}, \"{name}\", {}),\n", decimal(factor)));
        }
        out.push_str("];\n\n");
        out.push_str(&format!("pub(crate) const THRESHOLD: f32 = {};\n", decimal(self.threshold)));
        out
    }
}

/// A float written with at most three decimals and always a decimal point (`1.0`, `0.853`).
fn decimal(x: f32) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0');
    if s.ends_with('.') { format!("{s}0") } else { s.to_string() }
}

/// How the fit is run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// L2 penalty on the feature weights (a Gaussian prior of variance `1 / l2` around "no effect").
    pub l2: f64,
    /// The wrong rate the threshold may reach, e.g. 0.05.
    pub max_wrong_rate: f64,
}

impl Default for Options {
    fn default() -> Options {
        Options { l2: 1.0, max_wrong_rate: 0.05 }
    }
}

/// Answered, right and wrong questions of a set under a table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    /// Scored questions (samples and unreadable ones).
    pub questions: usize,
    pub right: usize,
    pub wrong: usize,
}

impl Score {
    pub fn of(table: &Table, samples: &[Sample], unreadable: usize) -> Score {
        let mut s = Score { questions: samples.len() + unreadable, ..Score::default() };
        for x in samples {
            if table.answers(&x.features) {
                if x.right {
                    s.right += 1;
                } else {
                    s.wrong += 1;
                }
            }
        }
        s
    }

    pub fn right_rate(&self) -> f64 {
        ratio(self.right, self.questions)
    }

    pub fn wrong_rate(&self) -> f64 {
        ratio(self.wrong, self.questions)
    }
}

fn ratio(n: usize, of: usize) -> f64 {
    if of == 0 { 0.0 } else { n as f64 / of as f64 }
}

/// One feature's line of the fit.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureFit {
    pub name: &'static str,
    /// Samples that have the feature.
    pub samples: usize,
    /// Of those, readings that were right.
    pub right: usize,
    pub before: f32,
    pub after: f32,
    /// False when no sample has the feature: the factor is kept.
    pub fitted: bool,
}

/// The result of [`fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub table: Table,
    /// The samples scored with the fitted table (in-sample).
    pub score: Score,
    /// The samples scored with the table the fit started from.
    pub before: Score,
    pub features: Vec<FeatureFit>,
    /// Coordinate-descent sweeps until the weights settled.
    pub sweeps: usize,
}

const MAX_SWEEPS: usize = 500;
const MIN_FACTOR: f64 = 0.01;

/// Fits factors and threshold on `samples` (see the module comment); `unreadable` questions had no reading and count
/// only in the rates' denominators.
pub fn fit(samples: &[Sample], unreadable: usize, options: &Options) -> Calibration {
    let current = Table::current();
    let x: Vec<[f64; N]> = samples
        .iter()
        .map(|s| {
            let mut row = [0.0; N];
            for (r, v) in row.iter_mut().zip(&s.features) {
                *r = if v.is_finite() { f64::from(*v) } else { 0.0 };
            }
            row
        })
        .collect();
    let y: Vec<f64> = samples.iter().map(|s| if s.right { 1.0 } else { 0.0 }).collect();
    let present: Vec<bool> = (0..N).map(|f| x.iter().any(|r| r[f] != 0.0)).collect();
    let (beta, sweeps) = logistic(&x, &y, &present, options.l2);
    let mut factors: Vec<f32> = (0..N)
        .map(|f| if present[f] { round3(beta[f].exp().clamp(MIN_FACTOR, 1.0)) } else { current.factors[f] })
        .collect();
    let threshold = choose_threshold(&factors, samples, unreadable, options.max_wrong_rate);
    // A feature no sample has keeps its share of the way to the threshold: one such doubt costs the same fraction of
    // ln(threshold) as before, f' = f ^ (ln T' / ln T). (Unseen features do not move the threshold.)
    let scale = f64::from(threshold).ln() / f64::from(current.threshold).ln();
    if scale.is_finite() && scale > 0.0 {
        for f in (0..N).filter(|f| !present[*f]) {
            factors[f] = round3(f64::from(current.factors[f]).powf(scale).clamp(0.001, 1.0));
        }
    }
    let table = Table { factors, threshold };
    let features = (0..N)
        .map(|f| FeatureFit {
            name: doubt::name(f),
            samples: x.iter().filter(|r| r[f] != 0.0).count(),
            right: x.iter().zip(&y).filter(|(r, y)| r[f] != 0.0 && **y == 1.0).count(),
            before: current.factors[f],
            after: table.factors[f],
            fitted: present[f],
        })
        .collect();
    Calibration {
        score: Score::of(&table, samples, unreadable),
        before: Score::of(&current, samples, unreadable),
        table,
        features,
        sweeps,
    }
}

/// Weights `β` (index `N` is the intercept) of the penalized logistic model, `β_f ≤ 0` for features; features not
/// `present` stay 0.
fn logistic(x: &[[f64; N]], y: &[f64], present: &[bool], l2: f64) -> ([f64; N + 1], usize) {
    let mut beta = [0.0; N + 1];
    let n = y.len() as f64;
    if n == 0.0 {
        return (beta, 0);
    }
    let mean = (y.iter().sum::<f64>() / n).clamp(1e-6, 1.0 - 1e-6);
    beta[N] = (mean / (1.0 - mean)).ln();
    let mut z: Vec<f64> = vec![beta[N]; x.len()];
    // The samples each weight acts on (all of them for the intercept), with the feature's count.
    let rows: Vec<Vec<(usize, f64)>> = (0..=N)
        .map(|j| {
            if j == N {
                (0..x.len()).map(|i| (i, 1.0)).collect()
            } else if present[j] {
                x.iter().enumerate().filter(|(_, r)| r[j] != 0.0).map(|(i, r)| (i, r[j])).collect()
            } else {
                Vec::new()
            }
        })
        .collect();
    let mut sweeps = 0;
    for _ in 0..MAX_SWEEPS {
        sweeps += 1;
        let mut moved = 0.0f64;
        for (j, nz) in rows.iter().enumerate() {
            if nz.is_empty() {
                continue;
            }
            let penalty = if j == N { 0.0 } else { l2 };
            let (mut g, mut h) = (penalty * beta[j], penalty);
            for &(i, v) in nz {
                let p = sigmoid(z[i]);
                g += (p - y[i]) * v;
                h += p * (1.0 - p) * v * v;
            }
            if h <= 0.0 {
                continue;
            }
            // The part of the loss that moves with β_j.
            let part = |b: f64| -> f64 {
                let delta = b - beta[j];
                let data: f64 = nz.iter().map(|&(i, v)| softplus(z[i] + delta * v) - y[i] * (z[i] + delta * v)).sum();
                data + 0.5 * penalty * b * b
            };
            let now = part(beta[j]);
            let mut step = -g / h;
            // Halve the Newton step until the loss does not increase (the projection keeps β_f ≤ 0).
            for _ in 0..30 {
                let mut next = beta[j] + step;
                if j < N {
                    next = next.min(0.0);
                }
                let delta = next - beta[j];
                if delta == 0.0 {
                    break;
                }
                if part(next) <= now {
                    for &(i, v) in nz {
                        z[i] += delta * v;
                    }
                    beta[j] = next;
                    moved = moved.max(delta.abs());
                    break;
                }
                step /= 2.0;
            }
        }
        if moved < 1e-7 {
            break;
        }
    }
    (beta, sweeps)
}

fn round3(v: f64) -> f32 {
    ((v * 1000.0).round() / 1000.0) as f32
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn softplus(z: f64) -> f64 {
    if z > 30.0 { z } else { z.exp().ln_1p() }
}

/// The threshold (three decimals) that answers the most samples right while keeping the wrong rate at or below
/// `max_wrong_rate`; ties go to the higher threshold. With none, 1.0 (only featureless readings are answered).
fn choose_threshold(factors: &[f32], samples: &[Sample], unreadable: usize, max_wrong_rate: f64) -> f32 {
    let conf: Vec<(f32, bool)> =
        samples.iter().map(|s| (doubt::product(factors.iter().copied(), &s.features), s.right)).collect();
    // Candidate thresholds: every sample's confidence rounded down to three decimals, and 1.0.
    let mut candidates: Vec<f32> = conf.iter().map(|(c, _)| ((c * 1000.0).floor() / 1000.0).max(0.001)).collect();
    candidates.push(1.0);
    candidates.sort_by(f32::total_cmp);
    candidates.dedup();
    let questions = samples.len() + unreadable;
    let mut best: Option<(usize, f32)> = None;
    for t in candidates {
        let (mut right, mut wrong) = (0usize, 0usize);
        for (c, r) in &conf {
            if *c >= t {
                if *r {
                    right += 1;
                } else {
                    wrong += 1;
                }
            }
        }
        if ratio(wrong, questions) <= max_wrong_rate && best.is_none_or(|(r, _)| right >= r) {
            best = Some((right, t));
        }
    }
    best.map(|(_, t)| t).unwrap_or(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::doubt::F;

    fn sample(pairs: &[(F, f32)], right: bool) -> Sample {
        let mut features = vec![0.0; N];
        for (f, v) in pairs {
            features[*f as usize] = *v;
        }
        Sample { features, right }
    }

    /// A synthetic set: readings without doubts are mostly right; readings with an ambiguous column are mostly
    /// wrong; readings with one join are right as often as not.
    fn synthetic() -> Vec<Sample> {
        let mut s = Vec::new();
        for i in 0..100 {
            s.push(sample(&[], i % 10 != 0)); // 90 % right
            s.push(sample(&[(F::Ambiguous, 1.0)], i % 5 == 0)); // 20 % right
            s.push(sample(&[(F::Joins, 1.0)], i % 2 == 0)); // 50 % right
        }
        s
    }

    #[test]
    fn a_feature_of_wrong_readings_gets_a_small_factor() {
        let c = fit(&synthetic(), 0, &Options { l2: 1.0, max_wrong_rate: 0.2 });
        let ambiguous = c.table.factors[F::Ambiguous as usize];
        let joins = c.table.factors[F::Joins as usize];
        assert!(ambiguous < joins && joins < 1.0, "ambiguous {ambiguous}, joins {joins}");
        // Almost unpenalized, the fit is the maximum-likelihood one: logit 0.9 + ln factor = logit 0.2.
        let ml = fit(&synthetic(), 0, &Options { l2: 0.001, max_wrong_rate: 0.2 });
        let implied = (0.9f64 / 0.1).ln() + f64::from(ml.table.factors[F::Ambiguous as usize]).ln();
        assert!((implied - (0.2f64 / 0.8).ln()).abs() < 0.05, "{implied}");
        // The penalty pulls the weights towards "no effect".
        assert!(ml.table.factors[F::Ambiguous as usize] < ambiguous);
        // Features no sample has keep their share of the way to the threshold.
        let kept = c.features.iter().find(|f| f.name == "have_col").expect("have_col");
        let share = |f: f32, t: f32| f64::from(f).ln() / f64::from(t).ln();
        assert!(!kept.fitted);
        assert!((share(kept.after, c.table.threshold) - share(kept.before, doubt::THRESHOLD)).abs() < 0.05);
        // The threshold answers the doubt-free readings and withholds the ambiguous ones.
        assert!(c.table.answers(&sample(&[], true).features));
        assert!(!c.table.answers(&sample(&[(F::Ambiguous, 1.0)], true).features));
        assert!(c.score.wrong_rate() <= 0.2);
    }

    #[test]
    fn the_wrong_rate_bound_decides_how_much_is_answered() {
        let set = synthetic();
        let loose = fit(&set, 0, &Options { l2: 1.0, max_wrong_rate: 0.3 });
        let strict = fit(&set, 0, &Options { l2: 1.0, max_wrong_rate: 0.04 });
        assert!(strict.score.wrong_rate() <= 0.04);
        assert!(loose.score.wrong_rate() <= 0.3);
        assert!(loose.score.right + loose.score.wrong > strict.score.right + strict.score.wrong);
        // Unreadable questions count in the rates.
        let diluted = fit(&set, 300, &Options { l2: 1.0, max_wrong_rate: 0.04 });
        assert_eq!(diluted.score.questions, 600);
        assert!(diluted.score.wrong_rate() <= 0.04);
    }

    #[test]
    fn deterministic_and_empty_safe() {
        let a = fit(&synthetic(), 5, &Options::default());
        let b = fit(&synthetic(), 5, &Options::default());
        assert_eq!(a, b);
        let empty = fit(&[], 0, &Options::default());
        assert_eq!(empty.table.threshold, 1.0);
        assert_eq!(empty.score, Score::default());
    }

    #[test]
    fn the_table_pastes_as_rust() {
        let text = Table::current().to_rust();
        assert!(
            text.starts_with("pub(crate) const FACTORS: [(F, &str, f32); N] = [\n    (F::Ambiguous, \"ambiguous\", ")
        );
        assert!(text.contains(&format!("pub(crate) const THRESHOLD: f32 = {};", decimal(doubt::THRESHOLD))));
        assert_eq!(text.lines().filter(|l| l.starts_with("    (F::")).count(), N);
        assert_eq!(decimal(1.0), "1.0");
        assert_eq!(decimal(0.8531), "0.853");
        assert_eq!(decimal(0.5), "0.5");
    }
}
