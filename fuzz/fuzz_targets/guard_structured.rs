//! A grammar-shaped input (`datagenie_fuzz::structured::Input`) rendered to SQL → the guard; any broken invariant
//! panics. Reaches deep query shapes that byte mutation rarely builds.

#![no_main]

use datagenie_fuzz::structured::Input;
use datagenie_fuzz::{Variant, dialect_from_byte, exercise};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: Input| {
    let sql = input.render();
    exercise(&sql, dialect_from_byte(input.dialect), Variant::from_byte(input.variant));
});
