//! Raw bytes → (dialect, policy variant, lossy UTF-8 SQL) → the guard; any broken invariant panics.
//! See `datagenie_fuzz::exercise` for the invariants and `datagenie_fuzz::decode` for the input layout.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (dialect, variant, sql) = datagenie_fuzz::decode(data);
    datagenie_fuzz::exercise(&sql, dialect, variant);
});
