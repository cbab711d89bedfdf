//! Item vectors for the semantic path: unit-normalised when attached, kept in one flat array per collection, and
//! searched exactly by a linear scan of dot products (cosine similarity, as both sides have unit length).

/// The vectors of one collection.
#[derive(Debug, Clone, Default)]
pub(crate) struct VectorSet {
    /// Per item: its row in `data`, if it has a vector.
    slots: Vec<Option<u32>>,
    /// Per row: the item.
    rows: Vec<u32>,
    /// Rows of `dim` unit-length components, back to back.
    data: Vec<f32>,
}

impl VectorSet {
    pub(crate) fn new(items: usize) -> VectorSet {
        VectorSet { slots: vec![None; items], rows: Vec::new(), data: Vec::new() }
    }

    /// Number of items with a vector.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Sets `item`'s vector (already of unit length and the index's dimension); out-of-range items are ignored.
    pub(crate) fn set(&mut self, item: usize, unit: &[f32]) {
        let Some(slot) = self.slots.get_mut(item) else { return };
        match *slot {
            Some(row) => {
                let start = row as usize * unit.len();
                if let Some(dst) = self.data.get_mut(start..start + unit.len()) {
                    dst.copy_from_slice(unit);
                }
            }
            None => {
                *slot = Some(self.rows.len() as u32);
                self.rows.push(item as u32);
                self.data.extend_from_slice(unit);
            }
        }
    }

    /// Room for `rows` more vectors of `dim` components.
    pub(crate) fn reserve(&mut self, rows: usize, dim: usize) {
        self.rows.reserve(rows);
        self.data.reserve(rows.saturating_mul(dim));
    }

    /// Items whose similarity to `query` (unit length, the same dimension) is at least `min`, in item order.
    pub(crate) fn scan(&self, query: &[f32], min: f32) -> Vec<(usize, f32)> {
        if query.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<(usize, f32)> = self
            .data
            .chunks_exact(query.len())
            .zip(&self.rows)
            .filter_map(|(row, &item)| {
                let s = dot(row, query);
                (s >= min).then_some((item as usize, s))
            })
            .collect();
        out.sort_unstable_by_key(|(item, _)| *item);
        out
    }
}

/// `v` scaled to unit length, in place; `None` when it is empty, zero or not finite.
pub(crate) fn unit(mut v: Vec<f32>) -> Option<Vec<f32>> {
    let norm = dot(&v, &v).sqrt();
    if v.is_empty() || !norm.is_finite() || norm <= f32::MIN_POSITIVE {
        return None;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    v.iter().all(|x| x.is_finite()).then_some(v)
}

/// Cosine similarity of two vectors: in [-1, 1]; 0 when their lengths differ, either is empty or zero, or a
/// component is not finite.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (ab, aa, bb) = (dot(a, b), dot(a, a), dot(b, b));
    let s = ab / (aa.sqrt() * bb.sqrt());
    if s.is_finite() { s.clamp(-1.0, 1.0) } else { 0.0 }
}

/// Dot product in eight independent lanes, which the compiler turns into SIMD (a single running sum cannot be
/// vectorised without reassociating floating-point additions).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        sum += x * y;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_basics() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert!((cosine(&[1.0, 1.0], &[-1.0, -1.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0], &[1.0, 2.0]), 0.0);
        assert_eq!(cosine(&[], &[]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        assert_eq!(cosine(&[f32::NAN, 1.0], &[1.0, 1.0]), 0.0);
        let a: Vec<f32> = (0..37).map(|i| (i as f32).sin()).collect();
        let b: Vec<f32> = (0..37).map(|i| (i as f32 * 0.7).cos()).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum::<f32>()
            / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt());
        assert!((cosine(&a, &b) - naive).abs() < 1e-5);
    }

    #[test]
    fn unit_refuses_degenerate_vectors() {
        assert!(unit(vec![]).is_none());
        assert!(unit(vec![0.0; 4]).is_none());
        assert!(unit(vec![f32::INFINITY, 1.0]).is_none());
        assert!(unit(vec![f32::MAX, f32::MAX]).is_none(), "the norm overflows");
        let u = unit(vec![3.0, 4.0]).unwrap_or_default();
        assert!((u[0] - 0.6).abs() < 1e-6 && (u[1] - 0.8).abs() < 1e-6);
    }

    #[test]
    fn set_replaces_and_scan_filters() {
        let mut set = VectorSet::new(3);
        set.set(2, &[1.0, 0.0]);
        set.set(0, &[0.0, 1.0]);
        set.set(2, &[0.6, 0.8]);
        set.set(9, &[1.0, 0.0]);
        assert_eq!(set.len(), 2);
        assert_eq!(set.scan(&[0.0, 1.0], 0.5), vec![(0, 1.0), (2, 0.8)]);
        assert_eq!(set.scan(&[1.0, 0.0], 0.7), Vec::<(usize, f32)>::new());
    }
}
