//! CRC-32C combination in constant time, for the linear search of a damaged file.
//!
//! CRC-32C is linear over GF(2): `crc(A‖B) = shift(crc(A), |B|) ⊕ crc(B)`, where `shift(v, n)` multiplies
//! `v` by x^(8n) modulo the CRC polynomial. The `crc32c` crate's `crc32c_combine` computes x^(8n) with
//! zlib's old matrix method (log n squarings of a 32×32 matrix, ~25k operations): fine once, far too slow
//! for a million candidate records. Here x^(8n) is the product of four table entries, one per byte of n,
//! so a combination costs five 32-step polynomial multiplications. Bit order is the reflected one the CRC
//! uses (x^0 is the top bit), as in zlib's `multmodp`.

/// CRC-32C's polynomial, reflected (x^32 implied).
const POLY: u32 = 0x82f6_3b78;
/// x^0 in the reflected representation.
const ONE: u32 = 1 << 31;

/// a·b mod P.
const fn mul(a: u32, mut b: u32) -> u32 {
    let mut m = ONE;
    let mut p = 0;
    while m != 0 {
        if a & m != 0 {
            p ^= b;
        }
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
        m >>= 1;
    }
    p
}

/// x^8 mod P: one byte's shift.
const X8: u32 = {
    let mut p = ONE;
    let mut i = 0;
    while i < 8 {
        p = mul(p, ONE >> 1);
        i += 1;
    }
    p
};

/// `TABLES[i][b]` = x^(8·b·256^i) mod P.
static TABLES: [[u32; 256]; 4] = {
    let mut t = [[0u32; 256]; 4];
    // step = x^(8·256^i): the shift of one unit of byte i of n.
    let mut step = X8;
    let mut i = 0;
    while i < 4 {
        let mut b = 0;
        let mut acc = ONE;
        while b < 256 {
            t[i][b] = acc;
            acc = mul(acc, step);
            b += 1;
        }
        step = acc; // x^(8·256^(i+1))
        i += 1;
    }
    t
};

/// x^(8n) mod P.
fn x8n(n: u32) -> u32 {
    let [b0, b1, b2, b3] = n.to_le_bytes();
    mul(
        mul(TABLES[0][b0 as usize], TABLES[1][b1 as usize]),
        mul(TABLES[2][b2 as usize], TABLES[3][b3 as usize]),
    )
}

/// crc(A‖B) from crc(A), crc(B) and |B| (same as `crc32c::crc32c_combine`, in constant time).
pub fn combine(crc_a: u32, crc_b: u32, len_b: u32) -> u32 {
    mul(x8n(len_b), crc_a) ^ crc_b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_crate_and_the_definition() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();
        for split in [0, 1, 3, 8, 255, 256, 257, 1000, 4999, 5000] {
            let (a, b) = data.split_at(split);
            let (ca, cb) = (crc32c::crc32c(a), crc32c::crc32c(b));
            assert_eq!(combine(ca, cb, b.len() as u32), crc32c::crc32c(&data));
            assert_eq!(
                combine(ca, cb, b.len() as u32),
                crc32c::crc32c_combine(ca, cb, b.len())
            );
        }
        for n in [65_536u32, 16_777_216, 67_108_864, 0xdead_beef, u32::MAX] {
            assert_eq!(
                combine(0x1234_5678, 0x9abc_def0, n),
                crc32c::crc32c_combine(0x1234_5678, 0x9abc_def0, n as usize),
                "n = {n}"
            );
        }
    }
}
